import type { IncomingMessage, ServerResponse } from 'node:http';
import { newCorrelationId, withCorrelation } from '@tessera/correlation';
import type { RequestHandler } from 'express';
import { underRequestSpan } from './request-span.js';

const REQUEST_ID_HEADER = 'X-Request-Id';
const REQUEST_ID = Symbol('requestId');

// What a proxy or client may name its request by: ids such as UUIDs or nginx's $request_id. An id
// with an `@`, or of digits alone, could be an email address or a phone number, which must never
// reach the logs or the stream: such a request gets an id of ours instead.
const ACCEPTED = /^[A-Za-z0-9._:/+=-]{1,128}$/;
const HAS_LETTER = /[A-Za-z]/;

type Named = ServerResponse & { [REQUEST_ID]?: string };

/** The correlation id for a request: the caller's X-Request-Id when it is fit to keep, else a new one. */
function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTED.test(header) && HAS_LETTER.test(header) ? header : newCorrelationId();
}

/**
 * Names a request before anything else runs, so that every answer carries the id (X-Request-Id)
 * and every line and call it causes can quote it. Both paths (Express, lean-path.ts) start here.
 */
export function nameRequest(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdOf(req.headers['x-request-id']);
  (res as Named)[REQUEST_ID] = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** nameRequest as Express's first middleware: the rest of the chain runs under the id. */
export const requestIds: RequestHandler = (req, res, next) => withCorrelation(nameRequest(req, res), next);

export function requestIdOfResponse(res: ServerResponse): string | undefined {
  return (res as Named)[REQUEST_ID];
}

/**
 * Runs a step under its request's correlation id and span. Needed after a body has been read: the stream's
 * events come from the connection, not from the request that asked for the body, so the id (and the
 * span) would otherwise be lost on the way to the handler and to the services it calls.
 */
export function underRequestId<T>(res: ServerResponse, step: () => T): T {
  const id = requestIdOfResponse(res);
  const traced = () => underRequestSpan(res, step);
  return id === undefined ? traced() : withCorrelation(id, traced);
}
