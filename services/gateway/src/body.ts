import { TesseraError } from '@tessera/errors';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { BodyKind } from './routes/route.js';

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * The body readers of each kind of route (see BodyKind). Malformed JSON is M_NOT_JSON, JSON that
 * is not an object M_BAD_JSON, and a body over the limit M_TOO_LARGE: answered, not reset (Node's
 * server reads and drops the rest of an upload the handler did not consume, so the client gets to
 * read the 413).
 */
export function bodyReaders(limitBytes: number): Record<BodyKind, RequestHandler[]> {
  const json = jsonParser(limitBytes);
  // Flat fields only (`extended: false`): a 3PID request has no nested values, and `a[b]=c` must
  // not become an object that a handler mistakes for a string.
  const form = express.urlencoded({ limit: limitBytes, extended: false, type: FORM_TYPE, parameterLimit: 100 });
  const formOrJson: RequestHandler = (req, res, next) => (req.is(FORM_TYPE) ? form : json)(req, res, next);
  return {
    json: [json, requireObject],
    'json-or-form': [formOrJson, emptyIsObject, requireObject],
    'optional-json': [json, emptyIsObject, requireObject],
  };
}

function jsonParser(limitBytes: number): RequestHandler {
  return express.json({ limit: limitBytes, strict: false, type: () => true });
}

// A request without any body (no Content-Length, no chunks) leaves req.body unset; where the body
// is optional that means "no fields".
const emptyIsObject: RequestHandler = (req, _res, next) => {
  if (req.body === undefined) req.body = {};
  next();
};

const requireObject: RequestHandler = (req, _res, next) => {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    next(new TesseraError('M_BAD_JSON', 'the request body must be a JSON object'));
  else next();
};

export const bodyErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large' || type === 'parameters.too.many') {
    next(new TesseraError('M_TOO_LARGE', 'the request body is too large'));
  } else if (type === 'entity.parse.failed') {
    next(new TesseraError('M_NOT_JSON', 'the request body is not valid JSON'));
  } else if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    next(new TesseraError('M_NOT_JSON', 'the request body must be UTF-8 JSON'));
  } else if (type === 'querystring.parse.rangeError') {
    next(new TesseraError('M_BAD_JSON', 'form fields must be flat name=value pairs'));
  } else if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') {
    next(new TesseraError('M_BAD_JSON', 'the request body could not be read'));
  } else if (isZlibError(err)) {
    // A gzip or deflate body that does not inflate: body-parser passes zlib's error on with a 400.
    next(new TesseraError('M_NOT_JSON', 'the request body could not be decompressed'));
  } else {
    next(err);
  }
};

const isZlibError = (err: unknown): boolean => /^Z_[A-Z_]+$/.test(String((err as { code?: unknown }).code));
