import type { Config } from '@tessera/config';
import { startTracing } from '@tessera/tracing';
import type { ServiceName } from './addresses.js';
import type { Logger } from './logger.js';
import type { ShutdownPlan } from './shutdown.js';

/**
 * Traces to TESSERA_OTLP_ENDPOINT (the config reads the standard OTEL_EXPORTER_OTLP_ENDPOINT into it
 * when unset), flushed when the process stops; nothing at all when neither is set.
 */
export function startServiceTracing(name: ServiceName, config: Config, log: Logger, shutdown: ShutdownPlan): void {
  const endpoint = config.TESSERA_OTLP_ENDPOINT;
  const tracing = startTracing(name, endpoint);
  if (!tracing.enabled || endpoint === undefined) return;
  log.info({ endpoint: withoutCredentials(endpoint) }, 'exporting traces over OTLP');
  // Registered first in the last phase, so it runs last: the spans of the shutdown itself go too.
  shutdown.add('admin', { name: 'trace export', run: () => tracing.shutdown() });
}

/** A collector URL may carry a user and token: the log names the place only. */
function withoutCredentials(endpoint: string): string {
  const url = new URL(endpoint);
  url.username = '';
  url.password = '';
  return url.href;
}
