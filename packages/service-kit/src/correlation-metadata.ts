import type { Metadata } from '@grpc/grpc-js';
import {
  CORRELATION_METADATA_KEY,
  currentCorrelationId,
  isCorrelationId,
  newCorrelationId,
} from '@tessera/correlation';

/** The correlation id a caller sent with a call; a fresh one when it sent none or one unfit to store. */
export function correlationIdOf(metadata: Metadata | undefined): string {
  const sent = metadata?.get(CORRELATION_METADATA_KEY)[0];
  return isCorrelationId(sent) ? sent : newCorrelationId();
}

/** The metadata of an outgoing call, carrying the id of the work that makes it (when there is one). */
export function withCurrentCorrelation(metadata: Metadata): Metadata {
  const correlationId = currentCorrelationId();
  if (correlationId !== undefined) metadata.set(CORRELATION_METADATA_KEY, correlationId);
  return metadata;
}
