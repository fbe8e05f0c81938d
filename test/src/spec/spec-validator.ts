// Checks HTTP responses against the Matrix Identity Service API's OpenAPI (v2, 3.1) and Swagger (v1, 2.0) files,
// vendored unmodified under <package root>/spec/identity (see spec/README.md).
import { AssertionError } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Ajv, type AnySchema, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../system/repo-root.js';

// ajv-formats is CommonJS: under NodeNext its default import is module.exports, whose `default` is the plugin.
const addFormats = ajvFormats.default.default;

/** The spec tree a file belongs to: v1 is Swagger 2.0 (`/_matrix/identity/api/v1`), v2 is OpenAPI 3.1. */
export type SpecTree = 'v1' | 'v2';

/** A JSON Schema with every `$ref` inlined and the OpenAPI-only keywords removed. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

export interface SpecResponse {
  /** The status key as written in the spec: `200`, `4XX` or `default`. */
  readonly status: string;
  /** The JSON body schema, or undefined when the spec documents this status without a JSON body. */
  readonly schema: JsonSchema | undefined;
}

export interface SpecOperation {
  /** The spec's operationId, or `METHOD template` when it has none. */
  readonly operationId: string;
  readonly method: string;
  /** Base path + path, e.g. `/_matrix/identity/v2/pubkey/{keyId}`. */
  readonly template: string;
  readonly tree: SpecTree;
  /** The YAML file, relative to the spec directory. */
  readonly file: string;
  readonly responses: ReadonlyMap<string, SpecResponse>;
}

/**
 * Which rule decided a response:
 * - `documented`: the operation documents this status with a JSON schema, and the body must match it;
 * - `matrix-error`: the operation does not document this status with a JSON body, so it must be a Matrix error;
 * - `unknown-method`: the path is documented but not for this method, so it must be a Matrix error;
 * - `unknown-endpoint`: the path is not documented, so it must be a Matrix error;
 * - `preflight`: an OPTIONS (CORS preflight) request, answered with a 2xx JSON object;
 * - `non-json`: not JSON and allowed to be (redirects, empty bodies, the HTML of GET submitToken).
 */
export type SpecRule = 'documented' | 'matrix-error' | 'unknown-method' | 'unknown-endpoint' | 'preflight' | 'non-json';

export interface ResponseUnderTest {
  readonly method: string;
  /** The request path; a query string or fragment is ignored. */
  readonly path: string;
  readonly status: number;
  /** The parsed JSON body. */
  readonly body: unknown;
}

export interface SpecVerdict {
  /** operationId (or `METHOD template`), or `unknown-method`, `unknown-endpoint`, `preflight`. */
  readonly operation: string;
  readonly rule: SpecRule;
  readonly status: number;
  /** The matched path template, when the path is documented. */
  readonly template?: string;
  /** Empty when the response conforms. */
  readonly errors: readonly string[];
}

/** What `assertMatchesSpec` returns, so a test can check the validator matched the operation it meant to call. */
export interface SpecMatch {
  /** operationId (or `METHOD template`), or `unknown-method`, `unknown-endpoint`, `preflight`, `non-json`. */
  readonly matched: string;
  readonly rule: SpecRule;
  readonly status: number;
  readonly template?: string;
}

export interface Spec {
  readonly dir: string;
  readonly operations: readonly SpecOperation[];
  /** Notes on what the loader had to work around (cyclic `$ref`s, unknown formats). Errata are in SPEC_ERRATA. */
  readonly notes: readonly string[];
  /** The documented operation for a method and an actual path, literal segments winning over `{param}`s. */
  findOperation(method: string, path: string): SpecOperation | undefined;
  validateResponse(response: ResponseUnderTest): SpecVerdict;
  /** Whether a response that is not JSON is allowed here; errors say why not. */
  validateNonJson(response: Omit<ResponseUnderTest, 'body'>): SpecVerdict;
}

export class SpecMismatchError extends AssertionError {
  readonly verdict: SpecVerdict;

  constructor(message: string, verdict: SpecVerdict) {
    super({ message });
    this.name = 'SpecMismatchError';
    this.verdict = verdict;
  }
}

/**
 * Places where the spec's schema contradicts its own prose, or what servers (Sydent) have always sent and the spec
 * later corrected. Each patch widens a schema; loadSpec fails if its target is gone, so a spec update shows up.
 */
export const SPEC_ERRATA: readonly {
  readonly tree: SpecTree;
  readonly operationId: string;
  readonly status: string;
  readonly why: string;
  readonly patch: (schema: JsonSchema) => JsonSchema;
}[] = [
  {
    tree: 'v1',
    operationId: 'lookupUser',
    status: '200',
    why: 'v1 GET /lookup: the description says "or an empty object if no association is known", the schema requires every field',
    patch: (schema) => ({ anyOf: [schema, { type: 'object', maxProperties: 0 }] }),
  },
  {
    tree: 'v1',
    operationId: 'storeInvite',
    status: '200',
    why: 'v1 POST /store-invite: public_keys typed string[] by mistake; corrected to {public_key, key_validity_url} objects in v1.7, which Sydent always sent',
    patch: (schema) => {
      const publicKeyObject = {
        type: 'object',
        properties: { public_key: { type: 'string' }, key_validity_url: { type: 'string' } },
        required: ['public_key', 'key_validity_url'],
      };
      return patchProperty(schema, 'public_keys', (publicKeys) => ({
        ...asObject(publicKeys, 'public_keys'),
        items: { anyOf: [asObject(publicKeys, 'public_keys').items, publicKeyObject] },
      }));
    },
  },
];

const ERROR_SCHEMA_FILE = 'v2/api/client-server/definitions/errors/error.yaml';
const API_DIRS: readonly { tree: SpecTree; dir: string }[] = [
  { tree: 'v1', dir: 'v1/api/identity' },
  { tree: 'v2', dir: 'v2/api/identity' },
];
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `<package root>/spec/identity`, from the sources or the test build alike. */
export const DEFAULT_SPEC_DIR = join(REPO_ROOT, 'test/spec/identity/');

export interface LoadSpecOptions {
  /** Compile every response schema now rather than on first use (slower; for the validator's own tests). */
  readonly eager?: boolean;
  /** Schema patches to apply; SPEC_ERRATA by default. Each must find its target. */
  readonly errata?: typeof SPEC_ERRATA;
}

/** Reads and indexes the spec files; throws if one cannot be read, a `$ref` dangles or (eager) a schema is invalid. */
export function loadSpec(dir: string = DEFAULT_SPEC_DIR, options: LoadSpecOptions = {}): Spec {
  const root = resolve(dir);
  const notes: string[] = [];
  const resolver = new RefResolver(notes);
  const compilers: Record<SpecTree, SchemaCompiler> = {
    v1: new SchemaCompiler(new Ajv(ajvOptions), notes),
    v2: new SchemaCompiler(new Ajv2020(ajvOptions), notes),
  };

  const operations: IndexedOperation[] = [];
  for (const { tree, dir: apiDir } of API_DIRS) {
    const files = readdirSync(join(root, apiDir))
      .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
      .sort();
    for (const name of files) {
      const file = join(root, apiDir, name);
      operations.push(...readApiFile(file, relative(root, file), tree, resolver));
    }
  }
  applyErrata(operations, options.errata ?? SPEC_ERRATA);
  for (const operation of operations) {
    for (const response of operation.responses.values()) {
      const { schema } = response;
      if (schema === undefined) continue;
      const compiler = compilers[operation.tree];
      let validate: ValidateFunction | undefined;
      response.validator = () => {
        validate ??= compiler.compile(schema, `${operation.operationId} ${response.status}`);
        return validate;
      };
      if (options.eager) response.validator();
    }
  }

  const errorSchema = resolver.inline(resolver.load(join(root, ERROR_SCHEMA_FILE)), join(root, ERROR_SCHEMA_FILE));
  // The prose requires `error` too: "error" MUST be present, though error.yaml only requires `errcode`.
  const errorObject = asObject(errorSchema, ERROR_SCHEMA_FILE);
  const required = Array.isArray(errorObject.required) ? errorObject.required : [];
  const validateMatrixError = compilers.v2.compile(
    { ...errorObject, required: [...new Set([...required, 'errcode', 'error'])] },
    'Matrix error',
  );
  return new LoadedSpec(root, operations, notes, validateMatrixError);
}

/**
 * Checks a JSON response against the spec and returns the rule and operation that applied; throws a
 * SpecMismatchError (an AssertionError) naming the operation, the rule and every schema error otherwise.
 */
export function assertMatchesSpec(spec: Spec, response: ResponseUnderTest): SpecMatch {
  return toMatch(spec.validateResponse(response), response);
}

/** Like assertMatchesSpec, for a response that is not JSON. */
export function assertNonJsonAllowed(spec: Spec, response: Omit<ResponseUnderTest, 'body'>): SpecMatch {
  return toMatch(spec.validateNonJson(response), { ...response, body: undefined });
}

export interface ObservedResponse<T = unknown> extends SpecMatch {
  readonly headers: Headers;
  /** The raw body. */
  readonly text: string;
  /** The parsed JSON body, checked against the spec; undefined when `matched` is `non-json`. */
  readonly body: T;
}

/** `fetch` that checks every response against the spec before a test sees it. */
export type ObservedFetch = <T = unknown>(input: string | URL, init?: RequestInit) => Promise<ObservedResponse<T>>;

export interface ObservedFetchOptions {
  /** Resolves relative inputs, e.g. `http://127.0.0.1:8090`. */
  readonly baseUrl?: string | URL;
  readonly fetch?: typeof fetch;
}

/**
 * Wraps fetch so no end-to-end test can forget to validate. JSON responses (`application/json` or `+json`) are
 * parsed and passed to assertMatchesSpec; one that claims JSON and does not parse fails. Other responses are
 * returned as `non-json` where the spec allows them (3xx, 204, the HTML of GET submitToken, unbind's bare errors),
 * and fail elsewhere: the spec says the server answers JSON objects. Redirects are not followed unless
 * `init.redirect` asks for it, so a test sees the 3xx to `next_link`.
 */
export function observedFetch(spec: Spec, options: ObservedFetchOptions = {}): ObservedFetch {
  const doFetch = options.fetch ?? fetch;
  return async <T = unknown>(input: string | URL, init: RequestInit = {}): Promise<ObservedResponse<T>> => {
    const url = options.baseUrl === undefined ? new URL(input) : new URL(input, options.baseUrl);
    const method = (init.method ?? 'GET').toUpperCase();
    const res = await doFetch(url, { redirect: 'manual', ...init });
    const text = await res.text();
    const under = { method, path: url.pathname, status: res.status };
    if (!isJsonContentType(res.headers.get('content-type'))) {
      const match = assertNonJsonAllowed(spec, under);
      return { ...match, headers: res.headers, text, body: undefined as T };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      const operation = spec.findOperation(method, url.pathname);
      const verdict: SpecVerdict = {
        operation: operation?.operationId ?? 'unknown-endpoint',
        rule: operation ? 'documented' : 'unknown-endpoint',
        ...withTemplate(operation?.template),
        status: res.status,
        errors: [`claims ${res.headers.get('content-type')} but the body does not parse: ${(err as Error).message}`],
      };
      throw new SpecMismatchError(describeMismatch(verdict, { ...under, body: text }), verdict);
    }
    const match = assertMatchesSpec(spec, { ...under, body });
    return { ...match, headers: res.headers, text, body: body as T };
  };
}

export function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return mediaType === 'application/json' || /^[a-z]+\/[^/]+\+json$/.test(mediaType);
}

// ---------------------------------------------------------------------------------------------------------------

interface IndexedResponse extends SpecResponse {
  schema: JsonSchema | undefined;
  /** Compiles the schema on first use. */
  validator?: () => ValidateFunction;
}

interface IndexedOperation extends SpecOperation {
  readonly responses: Map<string, IndexedResponse>;
  readonly segments: readonly SegmentMatcher[];
}

/** A literal segment, or a pattern with `{param}`s; a param matches one whole (percent-decoded) segment. */
type SegmentMatcher = { readonly literal: string } | { readonly pattern: RegExp };

class LoadedSpec implements Spec {
  readonly dir: string;
  readonly operations: readonly SpecOperation[];
  readonly notes: readonly string[];
  readonly #operations: readonly IndexedOperation[];
  readonly #validateMatrixError: ValidateFunction;

  constructor(dir: string, operations: IndexedOperation[], notes: string[], validateMatrixError: ValidateFunction) {
    this.dir = dir;
    this.#operations = operations;
    this.operations = operations;
    this.notes = notes;
    this.#validateMatrixError = validateMatrixError;
  }

  findOperation(method: string, path: string): SpecOperation | undefined {
    return this.#find(method, path).operation;
  }

  validateResponse(response: ResponseUnderTest): SpecVerdict {
    const { status, body } = response;
    const method = response.method.toUpperCase();
    const { operation, template } = this.#find(method, response.path);

    if (method === 'OPTIONS' && operation === undefined) {
      const errors: string[] = [];
      if (status < 200 || status > 299) errors.push(`a preflight answered ${status}, not 2xx`);
      if (!isJsonObject(body)) errors.push('the body is not a JSON object');
      return { operation: 'preflight', rule: 'preflight', status, ...withTemplate(template), errors };
    }
    if (operation === undefined) {
      const rule = template === undefined ? 'unknown-endpoint' : 'unknown-method';
      const why =
        rule === 'unknown-endpoint' ? 'the path is not in the spec' : `${method} is not documented for this path`;
      const errors = this.#matrixErrorErrors(status, body, why);
      return { operation: rule, rule, status, ...withTemplate(template), errors };
    }

    const base = { operation: operation.operationId, status, template: operation.template };
    const documented = findResponse(operation, status);
    const validate = documented?.validator?.();
    if (validate !== undefined) {
      // Error statuses also need `error`, which the prose requires and error.yaml does not.
      const errors = validate(body)
        ? status >= 400
          ? this.#matrixErrorErrors(status, body, `status ${status}`)
          : []
        : formatAjvErrors(validate.errors);
      return { ...base, rule: 'documented', errors };
    }
    const why =
      documented === undefined
        ? `status ${status} is not documented for ${operation.operationId}`
        : `${operation.operationId} documents status ${status} without a JSON body`;
    return { ...base, rule: 'matrix-error', errors: this.#matrixErrorErrors(status, body, why) };
  }

  validateNonJson(response: Omit<ResponseUnderTest, 'body'>): SpecVerdict {
    const { status } = response;
    const method = response.method.toUpperCase();
    const { operation, template } = this.#find(method, response.path);
    const base = {
      operation: operation?.operationId ?? 'non-json',
      rule: 'non-json' as const,
      status,
      ...withTemplate(template),
    };
    if (status < 200 || (status >= 300 && status < 400) || status === 204) return { ...base, errors: [] };
    if (operation !== undefined) {
      const documented = findResponse(operation, status);
      // GET submitToken documents 200, 3XX and 4XX without a JSON body; unbind its 400, 404 and 501.
      if (documented !== undefined && documented.schema === undefined) return { ...base, errors: [] };
    }
    return {
      ...base,
      errors: ['the response is not JSON; the spec requires a JSON object with Content-Type application/json'],
    };
  }

  #find(rawMethod: string, rawPath: string): { operation?: IndexedOperation; template?: string } {
    const method = rawMethod.toUpperCase();
    const segments = splitPath(rawPath);
    let best: { score: string; operations: IndexedOperation[] } | undefined;
    for (const operation of this.#operations) {
      const score = matchSegments(operation.segments, segments);
      if (score === undefined) continue;
      if (best === undefined || score > best.score) best = { score, operations: [operation] };
      else if (score === best.score) best.operations.push(operation);
    }
    if (best === undefined) return {};
    const operation = best.operations.find((op) => op.method === method);
    return { ...(operation ? { operation } : {}), template: best.operations[0]?.template };
  }

  #matrixErrorErrors(status: number, body: unknown, why: string): string[] {
    if (status < 400) return [`${why}, and status ${status} is not an error status`];
    if (this.#validateMatrixError(body)) return [];
    return formatAjvErrors(this.#validateMatrixError.errors).map(
      (error) => `${error} (${why}: the body must be a Matrix error with string errcode and error)`,
    );
  }
}

function toMatch(verdict: SpecVerdict, response: ResponseUnderTest): SpecMatch {
  if (verdict.errors.length > 0) throw new SpecMismatchError(describeMismatch(verdict, response), verdict);
  return {
    matched: verdict.rule === 'non-json' ? 'non-json' : verdict.operation,
    rule: verdict.rule,
    status: verdict.status,
    ...withTemplate(verdict.template),
  };
}

function describeMismatch(verdict: SpecVerdict, response: ResponseUnderTest): string {
  const where = verdict.template === undefined ? '' : `, ${verdict.template}`;
  let body = response.body === undefined ? '(not JSON)' : JSON.stringify(response.body);
  if (body.length > 600) body = `${body.slice(0, 600)}…`;
  return [
    `${response.method.toUpperCase()} ${response.path} → ${response.status} does not match the Matrix spec (${verdict.operation}${where}; rule ${verdict.rule}):`,
    ...verdict.errors.map((error) => `  - ${error}`),
    `  body: ${body}`,
  ].join('\n');
}

function withTemplate(template: string | undefined): { template?: string } {
  return template === undefined ? {} : { template };
}

function findResponse(operation: IndexedOperation, status: number): IndexedResponse | undefined {
  const code = String(status);
  return (
    operation.responses.get(code) ??
    operation.responses.get(`${code[0]}XX`) ??
    operation.responses.get(`${code[0]}xx`) ??
    operation.responses.get('default')
  );
}

function formatAjvErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const at = error.instancePath === '' ? '(body)' : error.instancePath;
    const extra = error.keyword === 'additionalProperties' ? ` '${String(error.params.additionalProperty)}'` : '';
    return `${at} ${error.message ?? error.keyword}${extra}`;
  });
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (!isJsonObject(value)) throw new Error(`spec erratum: ${what} is not a schema object`);
  return value;
}

function patchProperty(schema: JsonSchema, name: string, patch: (property: unknown) => unknown): JsonSchema {
  const object = asObject(schema, 'response schema');
  const properties = asObject(object.properties, 'properties');
  if (!(name in properties)) throw new Error(`spec erratum: no property ${name}`);
  return { ...object, properties: { ...properties, [name]: patch(properties[name]) } };
}

function applyErrata(operations: IndexedOperation[], errata: typeof SPEC_ERRATA): void {
  for (const erratum of errata) {
    const operation = operations.find((op) => op.tree === erratum.tree && op.operationId === erratum.operationId);
    const response = operation?.responses.get(erratum.status);
    if (response?.schema === undefined) {
      throw new Error(`spec erratum for ${erratum.tree} ${erratum.operationId} ${erratum.status} has no target`);
    }
    response.schema = erratum.patch(response.schema);
  }
}

// --- paths -----------------------------------------------------------------------------------------------------

function splitPath(rawPath: string): string[] {
  const path = rawPath.split(/[?#]/, 1)[0] ?? '';
  return path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
}

function compileTemplate(template: string): SegmentMatcher[] {
  return template.split('/').map((segment) => {
    if (!segment.includes('{')) return { literal: segment };
    const source = segment
      .split(/(\{[^}]+\})/)
      .map((part) => (/^\{[^}]+\}$/.test(part) ? '(.+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return { pattern: new RegExp(`^${source}$`, 's') };
  });
}

/** A score that sorts higher the earlier a literal segment matched, or undefined when the path does not match. */
function matchSegments(matchers: readonly SegmentMatcher[], segments: readonly string[]): string | undefined {
  if (matchers.length !== segments.length) return undefined;
  let score = '';
  for (const [i, matcher] of matchers.entries()) {
    const segment = segments[i] ?? '';
    if ('literal' in matcher) {
      if (matcher.literal !== segment) return undefined;
      score += '1';
    } else {
      if (segment === '' || !matcher.pattern.test(segment)) return undefined;
      score += '0';
    }
  }
  return score;
}

// --- files and $refs ----------------------------------------------------------------------------------------------

function readApiFile(file: string, name: string, tree: SpecTree, resolver: RefResolver): IndexedOperation[] {
  const doc = asObject(resolver.load(file), name);
  const isOpenApi3 = typeof doc.openapi === 'string' && doc.openapi.startsWith('3.');
  const isSwagger2 = String(doc.swagger) === '2.0';
  if (!isOpenApi3 && !isSwagger2) throw new Error(`${name}: neither OpenAPI 3 nor Swagger 2.0`);
  const basePath = (isOpenApi3 ? openApiBasePath(doc, name) : String(doc.basePath ?? '')).replace(/\/$/, '');

  const operations: IndexedOperation[] = [];
  for (const [path, pathItemRaw] of Object.entries(asObject(doc.paths ?? {}, `${name} paths`))) {
    const pathItem = asObject(resolver.follow(pathItemRaw, file).node, `${name} ${path}`);
    for (const method of HTTP_METHODS) {
      const operationRaw = pathItem[method];
      if (operationRaw === undefined) continue;
      const operation = asObject(operationRaw, `${name} ${method} ${path}`);
      const template = `${basePath}${path}`;
      const METHOD = method.toUpperCase();
      const operationId = typeof operation.operationId === 'string' ? operation.operationId : `${METHOD} ${template}`;
      const responses = new Map<string, IndexedResponse>();
      for (const [status, responseRaw] of Object.entries(
        asObject(operation.responses ?? {}, `${operationId} responses`),
      )) {
        const { node, file: responseFile } = resolver.follow(responseRaw, file);
        const response = asObject(node, `${operationId} ${status}`);
        const schemaRaw = isOpenApi3 ? jsonMediaType(response.content)?.schema : response.schema;
        const schema = schemaRaw === undefined ? undefined : resolver.inline(schemaRaw, responseFile);
        responses.set(status, { status, schema });
      }
      operations.push({
        operationId,
        method: METHOD,
        template,
        tree,
        file: name,
        responses,
        segments: compileTemplate(template),
      });
    }
  }
  return operations;
}

function openApiBasePath(doc: Record<string, unknown>, name: string): string {
  const servers = doc.servers;
  if (!Array.isArray(servers) || servers.length === 0) return '';
  const server = asObject(servers[0], `${name} servers[0]`);
  const url = String(server.url ?? '');
  const variables = isJsonObject(server.variables) ? server.variables : {};
  const expanded = url.replace(/\{([^}]+)\}/g, (_, variable: string) => {
    const value = variables[variable];
    return isJsonObject(value) && value.default !== undefined ? String(value.default) : '';
  });
  // What is left after scheme://host is the base path.
  const match = /^(?:[a-z]+:)?\/\/[^/]*(\/.*)?$/i.exec(expanded);
  return match ? (match[1] ?? '') : expanded;
}

function jsonMediaType(content: unknown): { schema?: unknown } | undefined {
  if (!isJsonObject(content)) return undefined;
  const json = content['application/json'] ?? Object.entries(content).find(([type]) => isJsonContentType(type))?.[1];
  return isJsonObject(json) ? json : undefined;
}

// Keywords whose value is one subschema (or, for draft-04 `items`, an array of them), a map of them, or a list.
const SUBSCHEMA = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'not',
  'if',
  'then',
  'else',
  'contains',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
const SUBSCHEMA_MAP = new Set([
  'properties',
  'patternProperties',
  'definitions',
  '$defs',
  'dependentSchemas',
  'dependencies',
]);
const SUBSCHEMA_LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
// OpenAPI keywords that are not JSON Schema (Ajv in strict mode rejects unknown keywords); `x-*` goes too.
const OPENAPI_ONLY = new Set(['example', 'discriminator', 'xml', 'externalDocs']);
// Siblings of a `$ref` that change nothing, so the referenced schema can stand alone.
const ANNOTATIONS = new Set(['description', 'title', 'summary', 'examples', 'deprecated', 'readOnly', 'writeOnly']);

class RefResolver {
  readonly #docs = new Map<string, unknown>();
  readonly #notes: string[];

  constructor(notes: string[]) {
    this.#notes = notes;
  }

  load(file: string): unknown {
    let doc = this.#docs.get(file);
    if (doc === undefined) {
      doc = parseYaml(readFileSync(file, 'utf8'));
      this.#docs.set(file, doc);
    }
    return doc;
  }

  /** Follows a non-schema `$ref` (a response, a path item) to the node and the file it lives in. */
  follow(node: unknown, file: string, seen: readonly string[] = []): { node: unknown; file: string } {
    if (!isJsonObject(node) || typeof node.$ref !== 'string') return { node, file };
    const target = this.#target(node.$ref, file);
    if (seen.includes(target.key)) throw new Error(`cyclic $ref ${target.key}`);
    return this.follow(target.node, target.file, [...seen, target.key]);
  }

  /** A copy of the schema with every `$ref` inlined, nested ones included, and OpenAPI-only keywords removed. */
  inline(node: unknown, file: string, stack: readonly string[] = []): JsonSchema {
    if (typeof node === 'boolean') return node;
    const schema = asObject(node, `schema in ${file}`);
    if (typeof schema.$ref === 'string') {
      const target = this.#target(schema.$ref, file);
      let resolved: JsonSchema;
      if (stack.includes(target.key)) {
        this.#notes.push(`cyclic $ref ${target.key} (via ${stack.join(' → ')}) accepts anything where it recurs`);
        resolved = {};
      } else {
        resolved = this.inline(target.node, target.file, [...stack, target.key]);
      }
      const { $ref: _ref, ...siblings } = schema;
      const meaningful = Object.keys(siblings).filter((key) => !ANNOTATIONS.has(key) && !isOpenApiOnly(key));
      if (meaningful.length === 0) return resolved;
      const rest = asObject(this.inline(siblings, file, stack), 'siblings');
      return { ...rest, allOf: [...(Array.isArray(rest.allOf) ? rest.allOf : []), resolved] };
    }
    const out: Record<string, unknown> = {};
    for (const [keyword, value] of Object.entries(schema)) {
      if (isOpenApiOnly(keyword)) continue;
      if (SUBSCHEMA.has(keyword)) {
        out[keyword] = Array.isArray(value)
          ? value.map((item) => this.inline(item, file, stack))
          : this.inline(value, file, stack);
      } else if (SUBSCHEMA_MAP.has(keyword) && isJsonObject(value)) {
        out[keyword] = Object.fromEntries(
          Object.entries(value).map(([name, sub]) => [name, Array.isArray(sub) ? sub : this.inline(sub, file, stack)]),
        );
      } else if (SUBSCHEMA_LIST.has(keyword) && Array.isArray(value)) {
        out[keyword] = value.map((item) => this.inline(item, file, stack));
      } else {
        out[keyword] = value;
      }
    }
    return out;
  }

  #target(ref: string, from: string): { node: unknown; file: string; key: string } {
    const hash = ref.indexOf('#');
    const filePart = hash === -1 ? ref : ref.slice(0, hash);
    const pointer = hash === -1 ? '' : decodeURIComponent(ref.slice(hash + 1));
    if (/^[a-z][a-z0-9+.-]*:/i.test(filePart)) throw new Error(`remote $ref ${ref} in ${from} is not supported`);
    const file = filePart === '' ? from : resolve(dirname(from), filePart);
    let node = this.load(file);
    for (const token of pointer.split('/').slice(1)) {
      const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
      const parent: unknown = node;
      node = Array.isArray(parent) ? parent[Number(key)] : isJsonObject(parent) ? parent[key] : undefined;
      if (node === undefined) throw new Error(`$ref ${ref} in ${from}: nothing at ${pointer}`);
    }
    return { node, file, key: `${file}#${pointer}` };
  }
}

function isOpenApiOnly(keyword: string): boolean {
  return OPENAPI_ONLY.has(keyword) || keyword.startsWith('x-');
}

// --- Ajv ---------------------------------------------------------------------------------------------------------

const ajvOptions = {
  allErrors: true,
  strict: true,
  // Spec schemas mix `type: object` with `allOf` and draft-04 tuples; those are fine, not worth warnings.
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  validateFormats: true,
} as const;

class SchemaCompiler {
  readonly #ajv: Ajv;
  readonly #notes: string[];
  // The same schema (error.yaml above all) is inlined in many places: compile each text once.
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(ajv: Ajv, notes: string[]) {
    addFormats(ajv);
    this.#ajv = ajv;
    this.#notes = notes;
  }

  compile(schema: JsonSchema, what: string): ValidateFunction {
    const text = JSON.stringify(schema);
    const cached = this.#compiled.get(text);
    if (cached !== undefined) return cached;
    for (const format of collectFormats(schema)) {
      if (this.#ajv.formats[format] === undefined) {
        // Matrix formats (mx-user-id, …) carry a `pattern` beside them where the spec means to check.
        this.#ajv.addFormat(format, true);
        this.#notes.push(`format ${format} is not checked (first seen in ${what})`);
      }
    }
    try {
      const validate = this.#ajv.compile(schema as AnySchema);
      this.#compiled.set(text, validate);
      return validate;
    } catch (err) {
      throw new Error(`cannot compile the schema of ${what}: ${(err as Error).message}`);
    }
  }
}

function collectFormats(schema: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) {
    for (const item of schema) collectFormats(item, found);
  } else if (isJsonObject(schema)) {
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'format' && typeof value === 'string') found.add(value);
      else if (key !== 'enum' && key !== 'const' && key !== 'default' && key !== 'examples')
        collectFormats(value, found);
    }
  }
  return found;
}
