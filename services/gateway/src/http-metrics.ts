import { Counter, Histogram, type Registry } from 'prom-client';
import type { OutcomeObserver } from './request-outcome.js';

/** Requests by route pattern (not raw path, which would let clients mint label values) and status. */
export function httpMetrics(registry: Registry): OutcomeObserver {
  const requests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests answered, by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return ({ method, route, status, seconds }) => {
    duration.observe({ method, route }, seconds);
    requests.inc({ method, route, status: String(status) });
  };
}
