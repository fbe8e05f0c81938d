import type { RequestHandler } from 'express';

export type Method = 'GET' | 'POST';

/**
 * How a POST route reads its body before the handler runs:
 * - `json`: a JSON object (v2; an empty body reads as `{}`);
 * - `json-or-form`: a JSON object or `application/x-www-form-urlencoded` fields (v1, as the
 *   legacy spec and Sydent allow);
 * - `optional-json`: like `json`, and a request with no body at all reads as `{}` (v2 logout).
 */
export type BodyKind = 'json' | 'json-or-form' | 'optional-json';

export interface Route {
  method: Method;
  /** An Express path below `/_matrix/identity`, e.g. `/v2/pubkey/:keyId`. */
  path: string;
  body?: BodyKind;
  handler: RequestHandler;
}

export const V1 = '/api/v1';
export const V2 = '/v2';

/** The API tree a request came in on: v1 has no auth and takes form bodies, v2 takes JSON and tokens. */
export type Tree = 'v1' | 'v2';

/** The same handler on both API trees: v1 and v2 share shapes wherever the spec lets them. */
export function onBothTrees(method: Method, subpath: string, handler: RequestHandler): Route[] {
  return [V2, V1].map((tree) => ({ method, path: `${tree}${subpath}`, handler }));
}

/**
 * A route on both trees whose handler depends on the tree (auth on v2, form bodies and numeric
 * strings on v1). POST routes read their body: JSON on v2, JSON or form on v1.
 */
export function onEachTree(method: Method, subpath: string, handlerFor: (tree: Tree) => RequestHandler): Route[] {
  const v2: Route = { method, path: `${V2}${subpath}`, handler: handlerFor('v2') };
  const v1: Route = { method, path: `${V1}${subpath}`, handler: handlerFor('v1') };
  if (method === 'POST') {
    v2.body = 'json';
    v1.body = 'json-or-form';
  }
  return [v2, v1];
}

/** A v2-only route (accounts, terms, hashed lookups: v1 has none of them). */
export function onV2(method: Method, subpath: string, handler: RequestHandler, body?: BodyKind): Route {
  return onOneTree(V2, method, subpath, handler, body);
}

/** A v1-only route (the plaintext lookups, which v2 replaced with hashed ones). */
export function onV1(method: Method, subpath: string, handler: RequestHandler, body?: BodyKind): Route {
  return onOneTree(V1, method, subpath, handler, body);
}

function onOneTree(prefix: string, method: Method, subpath: string, handler: RequestHandler, body?: BodyKind): Route {
  return { method, path: `${prefix}${subpath}`, handler, ...(body === undefined ? {} : { body }) };
}
