import { TesseraError } from '@tessera/errors';
import { parseSendAttempt } from '@tessera/spec-params';
import type { ApiRequest } from './api-request.js';
import type { Tree } from './routes/route.js';

/**
 * The named parameters of one request, read with the spec's errors: a missing one is
 * M_MISSING_PARAMS naming it, a value of the wrong type M_INVALID_PARAM naming it. `null` counts
 * as missing (homeservers send absent optional fields as null).
 */
export class Params {
  /** `within`: the name of the object these are the fields of (`threepid`), for the errors. */
  constructor(
    private readonly values: Readonly<Record<string, unknown>>,
    private readonly within = '',
  ) {}

  requiredString(name: string): string {
    const value = this.present(name);
    if (value === undefined) throw missing(this.named(name));
    return asString(this.named(name), value);
  }

  optionalString(name: string): string | undefined {
    const value = this.present(name);
    return value === undefined ? undefined : asString(this.named(name), value);
  }

  /** The fields of a JSON object (unbind's `threepid`), read with the same rules. */
  requiredObject(name: string): Params {
    const value = this.present(name);
    if (value === undefined) throw missing(this.named(name));
    if (typeof value !== 'object' || Array.isArray(value)) throw invalid(this.named(name), 'a JSON object');
    return new Params(value as Record<string, unknown>, this.named(name));
  }

  /** A JSON array whose items the caller checks (bulk_lookup's pairs). */
  requiredArray(name: string): unknown[] {
    const value = this.present(name);
    if (value === undefined) throw missing(this.named(name));
    if (!Array.isArray(value)) throw invalid(this.named(name), 'an array');
    return value;
  }

  /** `send_attempt`, on both trees a JSON integer or a string of digits (see parseSendAttempt). */
  sendAttempt(): number {
    const value = this.present('send_attempt');
    if (value === undefined) throw missing('send_attempt');
    return parseSendAttempt(value);
  }

  /** A JSON integer ≥ 0, or undefined when absent (v2 only: account/register's expires_in). */
  optionalCount(name: string): number | undefined {
    const value = this.present(name);
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    throw invalid(name, 'a JSON integer');
  }

  requiredStringArray(name: string): string[] {
    const value = this.requiredArray(name);
    if (!value.every((item): item is string => typeof item === 'string'))
      throw invalid(this.named(name), 'an array of strings');
    return value;
  }

  private named(name: string): string {
    return this.within === '' ? name : `${this.within}.${name}`;
  }

  private present(name: string): unknown {
    const value = Object.hasOwn(this.values, name) ? this.values[name] : undefined;
    return value === null ? undefined : value;
  }
}

/**
 * The parameters of a POST: its body. On v1 the query string fills in whatever the body lacks,
 * as Sydent reads v1 arguments from the body or the query alike (old clients sent some that way);
 * the body wins where both give a field. v2 reads the JSON body only.
 */
export function bodyParams(req: ApiRequest, tree: Tree): Params {
  const body = req.body as Record<string, unknown>;
  return new Params(tree === 'v1' ? { ...queryValues(req), ...body } : body);
}

/**
 * The parameters of a GET: its query string, the same on both trees (every value is a string).
 * An empty value counts as missing.
 */
export function queryParams(req: ApiRequest): Params {
  const values = Object.fromEntries(Object.entries(queryValues(req)).filter(([, value]) => value !== ''));
  return new Params(values);
}

function queryValues(req: ApiRequest): Record<string, unknown> {
  return { ...req.query };
}

function asString(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  throw invalid(name, Array.isArray(value) ? 'given once' : 'a string');
}

const missing = (name: string) => new TesseraError('M_MISSING_PARAMS', `missing parameter: ${name}`);
export const invalid = (name: string, expected: string) =>
  new TesseraError('M_INVALID_PARAM', `invalid parameter: ${name} must be ${expected}`);
