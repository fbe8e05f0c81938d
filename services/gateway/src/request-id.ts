import { newCorrelationId, withCorrelation } from '@tessera/correlation';
import type { RequestHandler, Response } from 'express';

const REQUEST_ID_HEADER = 'X-Request-Id';

// What a proxy or client may name its request by: ids such as UUIDs or nginx's $request_id. An id
// with an `@`, or of digits alone, could be an email address or a phone number, which must never
// reach the logs or the stream: such a request gets an id of ours instead.
const ACCEPTED = /^[A-Za-z0-9._:/+=-]{1,128}$/;
const HAS_LETTER = /[A-Za-z]/;

/** The correlation id for a request: the caller's X-Request-Id when it is fit to keep, else a new one. */
function requestIdOf(header: string | undefined): string {
  return header !== undefined && ACCEPTED.test(header) && HAS_LETTER.test(header) ? header : newCorrelationId();
}

/** Names every request (answered in X-Request-Id) before anything else runs, so that every answer carries it. */
export const requestIds: RequestHandler = (req, res, next) => {
  const id = requestIdOf(req.get(REQUEST_ID_HEADER));
  res.locals.requestId = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  withCorrelation(id, next);
};

export function requestIdOfResponse(res: Response): string | undefined {
  const id = res.locals.requestId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Runs a step under its request's correlation id. Needed after a body has been read: the stream's
 * events come from the connection, not from the request that asked for the body, so the id would
 * otherwise be lost on the way to the handler and to the services it calls.
 */
export function underRequestId<T>(res: Response, step: () => T): T {
  const id = requestIdOfResponse(res);
  return id === undefined ? step() : withCorrelation(id, step);
}
