import { ThreepidMedium } from '@tessera/proto/tessera/events/v1/session';
import { Medium as GrpcMedium } from '@tessera/proto/tessera/session/v1/session';
import { invalidParam } from './invalid-param.js';

/** The 3PID media this server validates, by the spec's names. */
export type Medium = 'email' | 'msisdn';

// Each medium on the two wires: the session service's gRPC enum and the event schema's.
const ON_WIRE = {
  email: { grpc: GrpcMedium.MEDIUM_EMAIL, event: ThreepidMedium.THREEPID_MEDIUM_EMAIL },
  msisdn: { grpc: GrpcMedium.MEDIUM_MSISDN, event: ThreepidMedium.THREEPID_MEDIUM_MSISDN },
} as const satisfies Record<Medium, { grpc: GrpcMedium; event: ThreepidMedium }>;
const MEDIA = Object.keys(ON_WIRE) as Medium[];

export const mediumToGrpc = (medium: Medium): GrpcMedium => ON_WIRE[medium].grpc;
export const mediumToEvent = (medium: Medium): ThreepidMedium => ON_WIRE[medium].event;

/** Null for UNSPECIFIED or a value this build does not know. */
export const mediumFromGrpc = (wire: GrpcMedium): Medium | null =>
  MEDIA.find((medium) => ON_WIRE[medium].grpc === wire) ?? null;

/** Null for UNSPECIFIED or a value this build does not know (an event written by a newer service). */
export const mediumFromEvent = (wire: ThreepidMedium): Medium | null =>
  MEDIA.find((medium) => ON_WIRE[medium].event === wire) ?? null;

/** The medium of a gRPC request, which must be one this server validates: M_INVALID_PARAM otherwise. */
export function parseGrpcMedium(wire: GrpcMedium): Medium {
  const medium = mediumFromGrpc(wire);
  if (medium === null) throw invalidParam('medium must be email or msisdn');
  return medium;
}
