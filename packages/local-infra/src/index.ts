export { freePort } from './free-port.js';
export { findNatsServerBinary, parseNatsServerVersion, pickNatsServerBinary } from './nats-binary.js';
export {
  type NatsClusterOptions,
  type NatsServerHandle,
  type NatsServerOptions,
  natsServerConfig,
  startNatsServer,
} from './nats-server.js';
export type { LogFn } from './output-lines.js';
export { type PostgresHandle, type PostgresOptions, startPostgres } from './postgres.js';
export { findPostgresBinDir } from './postgres-bin.js';
export { psql } from './psql.js';
export { findRepoRoot } from './repo-root.js';
