import { eventCodec, storedDecider } from '@tessera/event-store';
import { type EphemeralKeysEvent, ephemeralKeysDecider } from '../domain/ephemeral-keys.js';

// The imported ephemeral keys' event on the wire (tessera.events.v1) and back: public keys only.

export const ephemeralKeysCodec = eventCodec<EphemeralKeysEvent>({
  toPayload: (event) => ({ $case: 'ephemeralKeysImported', value: { publicKeys: event.data.publicKeys } }),
  fromPayload: (payload, at) =>
    payload.$case === 'ephemeralKeysImported'
      ? { type: 'EphemeralKeysImported', data: { publicKeys: payload.value.publicKeys, at } }
      : null,
});

/** `tessera.ephemeral_keys.<batchId>`, loaded and changed by handleCommand. */
export const storedEphemeralKeys = storedDecider(ephemeralKeysDecider, ephemeralKeysCodec);
