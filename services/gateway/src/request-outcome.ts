import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdOfResponse } from './request-id.js';

/** What is known of a request once its answer has left: what the access log and the metrics record. */
export interface RequestOutcome {
  method: string;
  /** The route pattern (`/v2/pubkey/:keyId`), never the raw path; `unmatched` when no route took it. */
  route: string;
  status: number;
  seconds: number;
  requestId: string | undefined;
}

export type OutcomeObserver = (outcome: RequestOutcome) => void;

const ROUTE = Symbol('route');
type Routed = IncomingMessage & { [ROUTE]?: string; route?: { path?: string } };

/** The route pattern the lean path serves a request by (Express sets req.route itself). */
export function markRoute(req: IncomingMessage, pattern: string): void {
  (req as Routed)[ROUTE] = pattern;
}

/** The label a request is logged and counted under, whichever path served it. */
export function routeLabelOf(req: IncomingMessage): string {
  const routed = req as Routed;
  return routed[ROUTE] ?? routed.route?.path ?? 'unmatched';
}

/**
 * One listener per request, on both paths: when the answer has left, every observer gets the
 * same outcome (one clock reading, one route label).
 */
export function outcomeObservers(observers: OutcomeObserver[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const outcome: RequestOutcome = {
        method: req.method ?? '',
        route: routeLabelOf(req),
        status: res.statusCode,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        requestId: requestIdOfResponse(res),
      };
      for (const observe of observers) observe(outcome);
    });
  };
}
