export {
  type GrpcServiceName,
  grpcListenAddress,
  grpcTarget,
  type HostPort,
  metricsListenAddress,
  parseHostPort,
  type ServiceName,
} from './addresses.js';
export { type AdminServer, startAdminServer } from './admin-server.js';
export { allowedClientsOf } from './allowed-clients.js';
export { type BackendHealth, type BackendHealthOptions, watchBackendHealth } from './backend-health.js';
export { type Backend, natsBackend } from './backends.js';
export { captureLogs, type LogLine } from './captured-log.js';
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
export { type Counter, createCounter, createMetrics, type Metrics } from './metrics.js';
export { peerCertificateNames } from './peer.js';
export { notStarted, type ReadinessCheck, type ReadinessReport, readinessOf } from './readiness.js';
export {
  type NatsConnectionOf,
  type NatsNeed,
  type RunningService,
  type ServiceContext,
  type ServiceSpec,
  type StartServiceOptions,
  startService,
} from './service.js';
export { onShutdown, runShutdownSteps, type ShutdownPhase, ShutdownPlan, type ShutdownStep } from './shutdown.js';
export {
  channelCredentials,
  readTlsFiles,
  requireTlsFiles,
  serverCredentials,
  type TlsFiles,
} from './tls.js';
export { type UnaryContext, type UnaryHandlers, unaryService } from './unary.js';
