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
export { createDeadlineClient, type DeadlineClient, type DeadlineClientOptions } from './grpc-client.js';
export { type GrpcServiceBinding, type RunningGrpcServer, startGrpcServer } from './grpc-server.js';
export { HealthRegistry, ServingStatus } from './health.js';
export { createLogger, type Logger } from './logger.js';
export { EXIT_CONFIG, runService, type ServiceStart } from './main.js';
export { type Counter, createCounter, createMetrics, type Metrics } from './metrics.js';
export { peerCertificateNames } from './peer.js';
export { onShutdown, type ShutdownStep } from './shutdown.js';
export { channelCredentials, readTlsFiles, serverCredentials, type TlsFiles } from './tls.js';
export { type UnaryContext, type UnaryHandlers, unaryService } from './unary.js';
