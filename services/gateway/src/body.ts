import { TesseraError } from '@tessera/errors';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';

/**
 * Reads a JSON object body. Malformed JSON is M_NOT_JSON, JSON that is not an object M_BAD_JSON,
 * and a body over the limit M_TOO_LARGE: answered, not reset (Node's server reads and drops the
 * rest of an upload the handler did not consume, so the client gets to read the 413).
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const parse = express.json({ limit: limitBytes, strict: false, type: () => true });
  const requireObject: RequestHandler = (req, _res, next) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      next(new TesseraError('M_BAD_JSON', 'the request body must be a JSON object'));
    else next();
  };
  return [parse, requireObject];
}

export const bodyErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') {
    next(new TesseraError('M_TOO_LARGE', 'the request body is too large'));
  } else if (type === 'entity.parse.failed') {
    next(new TesseraError('M_NOT_JSON', 'the request body is not valid JSON'));
  } else if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    next(new TesseraError('M_NOT_JSON', 'the request body must be UTF-8 JSON'));
  } else if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') {
    next(new TesseraError('M_BAD_JSON', 'the request body could not be read'));
  } else {
    next(err);
  }
};
