import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { TesseraError } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import express, { type ErrorRequestHandler, type RequestHandler, Router } from 'express';
import type { Registry } from 'prom-client';
import { accessLog } from './access-log.js';
import { writeAnswer } from './answer.js';
import { bodyErrors, bodyReaders } from './body.js';
import { cors } from './cors.js';
import { httpMetrics } from './http-metrics.js';
import { leanPath } from './lean-path.js';
import { requestIds, underRequestId } from './request-id.js';
import { type OutcomeObserver, outcomeObservers } from './request-outcome.js';
import { refuseMalformedRequests } from './request-shape.js';
import { startRequestSpan } from './request-span.js';
import { API_PREFIX, isAnswering, type Route } from './routes/route.js';
import { sendError } from './send-error.js';

export interface AppOptions {
  routes: Route[];
  maxBodyBytes: number;
  log: Logger;
  registry: Registry;
  /** A line per answered request (TESSERA_ACCESS_LOG). */
  accessLog?: boolean;
}

/**
 * The HTTP API: every request named first (X-Request-Id, the correlation id of all it causes),
 * then CORS, then a check of the request's shape (400 for a path that does not
 * decode), then the route table. A known path with another method is 405, an unknown path 404,
 * both M_UNRECOGNIZED; every failure leaves through sendError.
 * The hot routes (answering ones) go these same steps on the lean path (lean-path.ts), without
 * Express's middleware chain; whatever the lean path does not take, Express serves.
 */
export function createApp({
  routes,
  maxBodyBytes,
  log,
  registry,
  accessLog: logRequests = false,
}: AppOptions): RequestListener {
  const observers: OutcomeObserver[] = [httpMetrics(registry)];
  if (logRequests) observers.push(accessLog(log));
  const observe = outcomeObservers(observers);
  const readers = bodyReaders(maxBodyBytes);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestIds);
  app.use((req, res, next) => {
    observe(req, res);
    next();
  });
  app.use(cors);
  app.use(refuseMalformedRequests);

  const api = Router({ strict: false });
  for (const route of routes) {
    const handler: RequestHandler = isAnswering(route)
      ? (req, res) => underRequestId(res, async () => writeAnswer(res, await route.answer(req)))
      : (req, res, next) => underRequestId(res, () => route.handler(req, res, next));
    const handlers = route.body === undefined ? [handler] : [...readers[route.body], handler];
    if (route.method === 'GET') api.get(route.path, ...handlers);
    else api.post(route.path, ...handlers);
  }
  for (const path of new Set(routes.map((route) => route.path))) {
    api.all(path, () => {
      throw new TesseraError('M_UNRECOGNIZED', 'method not allowed on this path', { httpStatus: 405 });
    });
  }
  app.use(API_PREFIX, api);

  app.use(() => {
    throw new TesseraError('M_UNRECOGNIZED', 'unrecognized request');
  });
  app.use(bodyErrors);
  const lastResort: ErrorRequestHandler = (err, _req, res, _next) =>
    underRequestId(res, () => sendError(res, err, log));
  app.use(lastResort);

  const lean = leanPath(routes, { observe, readers, log });
  return (req: IncomingMessage, res: ServerResponse) => {
    startRequestSpan(req, res);
    if (!lean(req, res)) app(req, res);
  };
}
