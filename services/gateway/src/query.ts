import { TesseraError } from '@tessera/errors';
import type { ApiRequest } from './api-request.js';

/** A required query parameter given once: missing is M_MISSING_PARAMS, repeated M_INVALID_PARAM. */
export function requiredQuery(req: ApiRequest, name: string): string {
  const value = req.query[name];
  if (value === undefined || value === '') throw new TesseraError('M_MISSING_PARAMS', `missing parameter: ${name}`);
  if (typeof value !== 'string') throw new TesseraError('M_INVALID_PARAM', `parameter given more than once: ${name}`);
  return value;
}
