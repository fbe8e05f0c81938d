import { eventCodec, storedDecider } from '@tessera/event-store';
import { type PepperEvent, pepperDecider } from '../domain/pepper.js';

// The pepper aggregate's events on the wire. The pepper is public (hash_details hands it out).
export const pepperCodec = eventCodec<PepperEvent>({
  toPayload: (event) =>
    event.type === 'PepperCreated'
      ? { $case: 'pepperCreated', value: { pepperId: event.data.pepperId, pepper: event.data.pepper } }
      : { $case: 'pepperRetired', value: { pepperId: event.data.pepperId } },
  fromPayload: (payload, at) => {
    if (payload.$case === 'pepperCreated')
      return { type: 'PepperCreated', data: { pepperId: payload.value.pepperId, pepper: payload.value.pepper, at } };
    if (payload.$case === 'pepperRetired')
      return { type: 'PepperRetired', data: { pepperId: payload.value.pepperId, at } };
    return null;
  },
});

/** `tessera.pepper.lookup`, loaded and changed by handleCommand. */
export const storedPeppers = storedDecider(pepperDecider, pepperCodec);
