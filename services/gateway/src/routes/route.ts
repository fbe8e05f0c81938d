import type { RequestHandler } from 'express';
import type { Answer } from '../answer.js';
import type { ApiRequest } from '../api-request.js';

export type Method = 'GET' | 'POST';

/**
 * How a POST route reads its body before the handler runs:
 * - `json`: a JSON object (v2; an empty body reads as `{}`);
 * - `json-or-form`: a JSON object or `application/x-www-form-urlencoded` fields (v1, as the
 *   legacy spec and Sydent allow);
 * - `optional-json`: like `json`, and a request with no body at all reads as `{}` (v2 logout).
 */
export type BodyKind = 'json' | 'json-or-form' | 'optional-json';

/** A handler that reads only the ApiRequest and answers JSON: servable without Express. */
export type Answerer = (req: ApiRequest) => Answer | Promise<Answer>;

/** How a route answers: an Express handler, or an Answerer (served on the lean path too). */
export type Handling = { handler: RequestHandler } | { answer: Answerer };

export type Route = {
  method: Method;
  /** An Express path below `/_matrix/identity`, e.g. `/v2/pubkey/:keyId`. */
  path: string;
  body?: BodyKind;
} & Handling;

/** A route the lean path may serve (lean-path.ts); Express serves it too (app.ts). */
export type AnsweringRoute = Extract<Route, { answer: Answerer }>;

export const isAnswering = (route: Route): route is AnsweringRoute => 'answer' in route;

/** Where every route's path is mounted. */
export const API_PREFIX = '/_matrix/identity';

export const V1 = '/api/v1';
export const V2 = '/v2';

/** The API tree a request came in on: v1 has no auth and takes form bodies, v2 takes JSON and tokens. */
export type Tree = 'v1' | 'v2';

/** The same handler on both API trees: v1 and v2 share shapes wherever the spec lets them. */
export function onBothTrees(method: Method, subpath: string, handling: Handling): Route[] {
  return [V2, V1].map((tree) => ({ method, path: `${tree}${subpath}`, ...handling }));
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
export function onV2(method: Method, subpath: string, handling: Handling, body?: BodyKind): Route {
  return onOneTree(V2, method, subpath, handling, body);
}

/** A v1-only route (the plaintext lookups, which v2 replaced with hashed ones). */
export function onV1(method: Method, subpath: string, handling: Handling, body?: BodyKind): Route {
  return onOneTree(V1, method, subpath, handling, body);
}

function onOneTree(prefix: string, method: Method, subpath: string, handling: Handling, body?: BodyKind): Route {
  return { method, path: `${prefix}${subpath}`, ...handling, ...(body === undefined ? {} : { body }) };
}
