import type { IncomingMessage } from 'node:http';
import { TesseraError } from '@tessera/errors';
import type { RequestHandler } from 'express';

/**
 * What Node's parser lets through but no route can mean, refused with 400 M_UNRECOGNIZED: a path
 * whose percent-encoding does not decode (`%zz`, a lone `%`, bytes that are not UTF-8), anywhere
 * in it; and an HTTP/1.1 request without Host (RFC 9112 asks for a 400; Node's own has no body).
 * Both paths (Express, lean-path.ts) check it here.
 */
export function malformedRequestProblem(req: IncomingMessage): TesseraError | undefined {
  if (!decodes(pathOf(req.url ?? ''))) return malformed('the request path is not valid percent-encoded UTF-8');
  if (req.httpVersion === '1.1' && req.headers.host === undefined) return malformed('the Host header is missing');
  return undefined;
}

export const refuseMalformedRequests: RequestHandler = (req, _res, next) => next(malformedRequestProblem(req));

const malformed = (message: string) => new TesseraError('M_UNRECOGNIZED', message, { httpStatus: 400 });

const pathOf = (url: string): string => url.split('?', 1)[0] ?? '';

function decodes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
