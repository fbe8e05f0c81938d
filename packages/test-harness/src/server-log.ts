import type { LogFn } from '@tessera/local-infra';

/**
 * Where the servers' output goes when a test passes no `log`: nowhere, unless TESSERA_TEST_LOG is
 * set (then to stderr, prefixed). Start-up failures quote the last lines either way.
 */
export function serverLog(prefix: string): LogFn {
  if (!process.env.TESSERA_TEST_LOG) return () => {};
  return (line) => process.stderr.write(`[${prefix}] ${line}\n`);
}
