import type { IncomingMessage, ServerResponse } from 'node:http';
import { TesseraError } from '@tessera/errors';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { BodyKind } from './routes/route.js';

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * The body readers of each kind of route (see BodyKind), on both paths: Express runs them as
 * middleware, the lean path through readBody. Malformed JSON is M_NOT_JSON, JSON that is not an
 * object M_BAD_JSON, and a body over the limit M_TOO_LARGE (bodyErrorOf): answered, not reset
 * (Node's server reads and drops the rest of an upload the handler did not consume, so the client
 * gets to read the 413).
 */
export function bodyReaders(limitBytes: number): Record<BodyKind, RequestHandler[]> {
  const json = jsonParser(limitBytes);
  // Flat fields only (`extended: false`): a 3PID request has no nested values, and `a[b]=c` must
  // not become an object that a handler mistakes for a string.
  const form = express.urlencoded({ limit: limitBytes, extended: false, type: FORM_TYPE, parameterLimit: 100 });
  const formOrJson: RequestHandler = (req, res, next) => (isForm(req) ? form : json)(req, res, next);
  return {
    json: [json, requireObject],
    'json-or-form': [formOrJson, emptyIsObject, requireObject],
    'optional-json': [json, emptyIsObject, requireObject],
  };
}

// Express's own req.is (type-is), called on the request whichever path it came by: it reads only
// the request's headers.
const isForm = (req: IncomingMessage): boolean => Boolean(express.request.is.call(req as Request, FORM_TYPE));

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

/**
 * Runs a route's body readers outside Express (the lean path): resolves once they have left the
 * body on the request, rejects with the first reader's error (bodyErrorOf maps it).
 */
export function readBody(readers: RequestHandler[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (index: number) => (err?: unknown) => {
      if (err !== undefined && err !== null) reject(err);
      else if (index === readers.length) resolve();
      else (readers[index] as RequestHandler)(req as Request, res as Response, step(index + 1));
    };
    step(0)();
  });
}

/** What a body reader's failure means for the client, as a Matrix error; any other error as it is. */
export function bodyErrorOf(err: unknown): unknown {
  const type = (err as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large' || type === 'parameters.too.many') {
    return new TesseraError('M_TOO_LARGE', 'the request body is too large');
  }
  if (type === 'entity.parse.failed') return new TesseraError('M_NOT_JSON', 'the request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new TesseraError('M_NOT_JSON', 'the request body must be UTF-8 JSON');
  }
  if (type === 'querystring.parse.rangeError') {
    return new TesseraError('M_BAD_JSON', 'form fields must be flat name=value pairs');
  }
  if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') {
    return new TesseraError('M_BAD_JSON', 'the request body could not be read');
  }
  // A gzip or deflate body that does not inflate: body-parser passes zlib's error on with a 400.
  if (isZlibError(err)) return new TesseraError('M_NOT_JSON', 'the request body could not be decompressed');
  return err;
}

export const bodyErrors: ErrorRequestHandler = (err, _req, _res, next) => next(bodyErrorOf(err));

const isZlibError = (err: unknown): boolean => /^Z_[A-Z_]+$/.test(String((err as { code?: unknown } | null)?.code));
