import type { RequestHandler } from 'express';

export type Method = 'GET' | 'POST';

export interface Route {
  method: Method;
  /** An Express path below `/_matrix/identity`, e.g. `/v2/pubkey/:keyId`. */
  path: string;
  /** POST routes read a JSON object body before the handler runs. */
  body?: 'json';
  handler: RequestHandler;
}

export const V1 = '/api/v1';
export const V2 = '/v2';

/** The same handler on both API trees: v1 and v2 share shapes wherever the spec lets them. */
export function onBothTrees(method: Method, subpath: string, handler: RequestHandler): Route[] {
  return [V2, V1].map((tree) => ({ method, path: `${tree}${subpath}`, handler }));
}
