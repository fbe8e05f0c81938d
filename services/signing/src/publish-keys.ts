import { randomUUID } from 'node:crypto';
import { type EventStore, handleCommand, subjectOf } from '@tessera/event-store';
import type { Logger } from '@tessera/service-kit';
import { isValidAfter, type KeyCommand, storedKeys } from '@tessera/signing-keys';
import type { KeyStore } from './key-store.js';

/**
 * Announces each key of the store on its aggregate (`tessera.key.<keyId>`): KeyCreated the first
 * time, nothing on later starts. Throws KeyMismatch when the stream knows a different key under
 * one of the ids. Returns the ids of the keys that are valid (published and not revoked).
 */
export async function publishKeys(options: {
  eventStore: EventStore;
  keyStore: KeyStore;
  now: () => Date;
  log: Logger;
}): Promise<Set<string>> {
  const { eventStore, keyStore, now, log } = options;
  const correlationId = `signing-start-${randomUUID()}`;
  const valid = new Set<string>();
  for (const key of keyStore.keys) {
    const command: KeyCommand = {
      type: 'PublishKey',
      keyId: key.keyId,
      algorithm: key.algorithm,
      publicKey: key.publicKeyBase64,
      now: now(),
    };
    const handled = await handleCommand(eventStore, subjectOf('key', key.keyId), storedKeys, command, {
      correlationId,
    });
    if (isValidAfter(handled.state, key.publicKeyBase64)) valid.add(key.keyId);
    log.info(
      { keyId: key.keyId, published: handled.events.length > 0, seq: handled.seq, valid: valid.has(key.keyId) },
      handled.events.length > 0 ? 'published a signing key' : 'signing key already published',
    );
  }
  return valid;
}
