import { type ConsumedMessage, type RetryLater, type RunningConsumer, runConsumer } from '@tessera/event-store';
import { DURABLES } from '@tessera/nats-access';
import { BindingSource } from '@tessera/proto/tessera/events/v1/association';
import type { NatsConnection } from 'nats';
import { type OnbindRequestsDeps, requestOnbind } from './onbind-requests.js';

const STREAM = 'TESSERA_EVENTS';
const ASSOC_SUBJECTS = 'tessera.assoc.>';
// Bindings are handled one at a time, so the one a dead replica held stops every later onbind
// until it is delivered again: that is one ack wait after the replica's last heartbeat. A slow
// reaction (a wait for the projector, signing, a few appends) is kept by the heartbeats while its
// process lives, so the wait can be short. (At 60 s, the scale-out test saw onbinds stalled a minute.)
const ACK_WAIT_MS = 10_000;
const HEARTBEAT_MS = 3_000;

/**
 * Consumes AssociationBound (durable `invite-bindings`, `tessera.assoc.>`, one at a time in stream
 * order) and requests the onbind call of each new binding that finds pending invites; passes over
 * the bindings of an import (source IMPORT).
 */
export function runBindingsConsumer(
  nc: NatsConnection,
  deps: OnbindRequestsDeps,
  durable: string = DURABLES.inviteBindings,
): Promise<RunningConsumer> {
  const handler = async ({ envelope, seq }: ConsumedMessage): Promise<RetryLater | undefined> => {
    let retry: RetryLater | undefined;
    for (const event of envelope.events) {
      if (event.payload?.$case !== 'associationBound') continue;
      // An imported binding is history (Sydent delivered what it could then): no homeserver is called.
      if (event.payload.value.source === BindingSource.BINDING_SOURCE_IMPORT) continue;
      const { addrKey, bindingId } = event.payload.value;
      retry = (await requestOnbind(deps, { addrKey, bindingId, seq })) ?? retry;
    }
    return retry;
  };
  return runConsumer(nc.jetstream(), {
    stream: STREAM,
    durable,
    filterSubjects: [ASSOC_SUBJECTS],
    eventTypes: ['AssociationBound'],
    ackWaitMs: ACK_WAIT_MS,
    progressHeartbeatMs: HEARTBEAT_MS,
    log: deps.log,
    handler,
  });
}
