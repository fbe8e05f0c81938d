export {
  type GrpcServiceName,
  grpcTarget,
  type HostPort,
  parseHostPort,
  type ServiceName,
} from './addresses.js';
export {
  type AdminApi,
  type AdminApiOptions,
  adminTokenOf,
  parseJsonObject,
  readAdminToken,
  readImportItems,
  readJsonObject,
  startAdminApi,
} from './admin-api.js';
export { type BackendHealth, type BackendHealthOptions, watchBackendHealth } from './backend-health.js';
export { type Clock, createClock } from './clock.js';
export { createDeadlineClient, type DeadlineClient, type DeadlineClientOptions } from './grpc-client.js';
export {
  type GrpcServerOptions,
  type GrpcServiceBinding,
  type RunningGrpcServer,
  serveGrpc,
  startGrpcServer,
} from './grpc-server.js';
export { HealthRegistry, ServingStatus } from './health.js';
export { createLogThrottle, type LogThrottle, type LogThrottleOptions, type ThrottledLevel } from './log-throttle.js';
export { createLogger, type Logger } from './logger.js';
export { EXIT_CONFIG, runService } from './main.js';
export {
  type ConsumerLagSource,
  type Counter,
  createCounter,
  createMetrics,
  type Metrics,
  reportConsumerLag,
} from './metrics.js';
export { peerCertificateNames } from './peer.js';
export { type ReadinessCheck, type ReadinessReport, readinessOf } from './readiness.js';
export type { DatabaseNeed, DatabaseOf, NatsNeed, ServiceContext, ServiceSpec } from './service.js';
export type { ShutdownStep } from './shutdown.js';
export {
  channelCredentials,
  readTlsFiles,
  serverCredentials,
  type TlsFiles,
} from './tls.js';
export { type UnaryContext, type UnaryHandlers, unaryService } from './unary.js';
