import { invalidParam } from './invalid-param.js';

/**
 * `token_type` of account/register's OpenID credentials. Absent is taken as `Bearer`, the only
 * type there is (older clients and matrix-is-tester send none; Sydent never reads it); any other
 * value is M_INVALID_PARAM.
 */
export function parseTokenType(value: string | undefined): 'Bearer' {
  if (value === undefined || value === 'Bearer') return 'Bearer';
  throw invalidParam('token_type must be Bearer');
}
