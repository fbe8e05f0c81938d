import { eventCodec, storedDecider } from '@tessera/event-store';
import { type KeyEvent, keyDecider } from './key.js';

// The key aggregate's events on the wire (tessera.events.v1) and back.

export const keyCodec = eventCodec<KeyEvent>({
  toPayload(event) {
    switch (event.type) {
      case 'KeyCreated': {
        const { keyId, algorithm, publicKey } = event.data;
        return { $case: 'keyCreated', value: { keyId, algorithm, publicKey } };
      }
      case 'KeyRevoked': {
        const { keyId, reason } = event.data;
        return { $case: 'keyRevoked', value: { keyId, reason } };
      }
    }
  },
  fromPayload(payload, at) {
    switch (payload.$case) {
      case 'keyCreated':
        return { type: 'KeyCreated', data: { ...payload.value, at } };
      case 'keyRevoked':
        return { type: 'KeyRevoked', data: { ...payload.value, at } };
      default:
        return null;
    }
  },
});

/** `tessera.key.<keyId>`, loaded and changed by handleCommand. */
export const storedKeys = storedDecider(keyDecider, keyCodec);
