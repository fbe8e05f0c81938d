import { type ServerWritableStream, status } from '@grpc/grpc-js';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from '@tessera/proto/grpc/health/v1/health';

export { HealthCheckResponse_ServingStatus as ServingStatus } from '@tessera/proto/grpc/health/v1/health';

/**
 * The standard gRPC health service. The empty name "" is the whole server; each gRPC service is
 * also listed under its full name (e.g. "tessera.signing.v1.SigningService").
 */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>>();

  set(service: string, servingStatus: ServingStatus): void {
    this.statuses.set(service, servingStatus);
    for (const call of this.watchers.get(service) ?? []) call.write({ status: servingStatus });
  }

  /** Every service stops serving; used first thing on shutdown so balancers drain. */
  setAll(servingStatus: ServingStatus): void {
    for (const service of this.statuses.keys()) this.set(service, servingStatus);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  implementation(): HealthServer {
    return {
      check: (call, callback) => {
        const servingStatus = this.statuses.get(call.request.service);
        if (servingStatus === undefined) callback({ code: status.NOT_FOUND, details: 'unknown service' });
        else callback(null, { status: servingStatus });
      },
      watch: (call) => {
        const service = call.request.service;
        const set = this.watchers.get(service) ?? new Set();
        this.watchers.set(service, set);
        set.add(call);
        call.write({ status: this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN });
        call.on('cancelled', () => set.delete(call));
      },
    };
  }

  /** Ends every Watch stream, so that the server can shut down without waiting for them. */
  endWatches(): void {
    for (const set of this.watchers.values()) for (const call of set) call.end();
    this.watchers.clear();
  }
}
