import type { Logger } from '@tessera/service-kit';
import type { RequestHandler } from 'express';
import { requestIdOfResponse } from './request-id.js';

/**
 * One line per answered request: method, route pattern, status and time, with the request's
 * correlation id. Never the path or query as sent: they may hold an address or a token.
 */
export function accessLog(log: Logger): RequestHandler {
  // Its fields are fixed and hold nothing secret, so it skips the redaction pass every other line
  // takes: 2-3 µs a line instead of 12-14 µs here, on a line every request writes.
  const lines = log.child({}, { redact: { paths: [], censor: '' } });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      lines.info(
        {
          correlationId: requestIdOfResponse(res),
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
        },
        'request',
      );
    });
    next();
  };
}
