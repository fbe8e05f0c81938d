import { TesseraError } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import express, { type ErrorRequestHandler, type Express, type RequestHandler, Router } from 'express';
import type { Registry } from 'prom-client';
import { accessLog } from './access-log.js';
import { bodyErrors, bodyReaders } from './body.js';
import { cors } from './cors.js';
import { httpMetrics } from './http-metrics.js';
import { requestIds, underRequestId } from './request-id.js';
import { refuseMalformedRequests } from './request-shape.js';
import type { Route } from './routes/route.js';
import { sendError } from './send-error.js';

export const API_PREFIX = '/_matrix/identity';

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
 */
export function createApp({
  routes,
  maxBodyBytes,
  log,
  registry,
  accessLog: logRequests = false,
}: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestIds);
  app.use(httpMetrics(registry));
  if (logRequests) app.use(accessLog(log));
  app.use(cors);
  app.use(refuseMalformedRequests);

  const api = Router({ strict: false });
  const readers = bodyReaders(maxBodyBytes);
  for (const route of routes) {
    const handler: RequestHandler = (req, res, next) => underRequestId(res, () => route.handler(req, res, next));
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
  return app;
}
