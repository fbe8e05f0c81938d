// The key aggregate (`tessera.key.<keyId>`): which public key a key id stands for, and whether it
// was revoked. Public parts only: a seed never reaches a decider, an event or the stream. Signing
// publishes its keys with it; an operator revokes one with it (`tessera keys revoke`), which needs
// no private key, so the decider lives here, where both reach it.
import type { Decider } from '@tessera/event-store';

export type KeyEvent =
  | { type: 'KeyCreated'; data: { keyId: string; algorithm: string; publicKey: string; at: Date } }
  | { type: 'KeyRevoked'; data: { keyId: string; reason: string; at: Date } };

export type KeyCommand =
  | {
      type: 'PublishKey';
      keyId: string;
      algorithm: string;
      /** Unpadded standard base64 of the public key. */
      publicKey: string;
      now: Date;
    }
  | {
      /** An operator's decision (`tessera keys revoke`): the key must no longer be trusted. */
      type: 'RevokeKey';
      keyId: string;
      /** Why, for the record: operator text, never key material. */
      reason: string;
      now: Date;
    };

export type Key =
  | { status: 'none' }
  | { status: 'active' | 'revoked'; algorithm: string; publicKey: string; createdAt: Date };

export const initial = (): Key => ({ status: 'none' });

/**
 * The stream holds a different public key for this key id than the key store: the store was
 * replaced or regenerated. Signing on would publish signatures that verifiers check against the
 * wrong key, so the service refuses to start; the operator revokes the old key first.
 */
export class KeyMismatch extends Error {
  override readonly name = 'KeyMismatch';
  constructor(readonly keyId: string) {
    super(
      `key ${keyId}: the event stream holds a different public key for this id than the key store; ` +
        `restore the original key file, or revoke ${keyId} before putting a new key under that id`,
    );
  }
}

/** A revocation names a key id the stream has never seen: there is nothing to revoke. */
export class UnknownKey extends Error {
  override readonly name = 'UnknownKey';
  constructor(readonly keyId: string) {
    super(`key ${keyId}: no such key on the event stream; nothing to revoke`);
  }
}

export function evolve(state: Key, event: KeyEvent): Key {
  switch (event.type) {
    case 'KeyCreated':
      return {
        status: 'active',
        algorithm: event.data.algorithm,
        publicKey: event.data.publicKey,
        createdAt: event.data.at,
      };
    case 'KeyRevoked':
      return state.status === 'none' ? state : { ...state, status: 'revoked' };
  }
}

export function decide(command: KeyCommand, state: Key): KeyEvent[] {
  switch (command.type) {
    case 'PublishKey':
      return publish(command, state);
    case 'RevokeKey': {
      const { keyId, reason, now } = command;
      if (state.status === 'none') throw new UnknownKey(keyId);
      // Revoking twice changes nothing: a retried command appends no second fact.
      return state.status === 'revoked' ? [] : [{ type: 'KeyRevoked', data: { keyId, reason, at: now } }];
    }
  }
}

function publish(command: Extract<KeyCommand, { type: 'PublishKey' }>, state: Key): KeyEvent[] {
  const { keyId, algorithm, publicKey, now } = command;
  const created: KeyEvent = { type: 'KeyCreated', data: { keyId, algorithm, publicKey, at: now } };
  switch (state.status) {
    case 'none':
      return [created];
    case 'active':
      if (state.publicKey !== publicKey || state.algorithm !== algorithm) throw new KeyMismatch(keyId);
      return []; // published by an earlier start: nothing new
    case 'revoked':
      // The same key stays revoked (the store may keep it, it is just no longer valid); a
      // different key under the revoked id is a new key.
      return state.publicKey === publicKey && state.algorithm === algorithm ? [] : [created];
  }
}

export const keyDecider: Decider<KeyCommand, KeyEvent, Key> = { decide, evolve, initial };

/** Whether the key the command publishes is valid once the events it decided are applied. */
export function isValidAfter(state: Key, publicKey: string): boolean {
  return state.status === 'active' && state.publicKey === publicKey;
}
