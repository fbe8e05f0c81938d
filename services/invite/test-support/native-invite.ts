// What a store-invite records (InviteStored's fields but `imported`), for the unit tests of the
// invite aggregate and its codec: ids, digests and sealed values that stand for real ones.
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type { StoredInvite } from '../src/domain/invite.js';

export const SEALED: Sealed = { keyId: 'k', nonce: Buffer.alloc(12, 1), ciphertext: Buffer.alloc(16, 2) };

export const nativeInvite = (inviteId: string, expiresAt: Date): Omit<StoredInvite, 'imported'> & { mail: Sealed } => ({
  inviteId,
  medium: 'email',
  addrKey: 'addr-key',
  senderKey: 'sender-key',
  ephemeralPublicKey: 'ephemeral',
  secrets: SEALED,
  mail: SEALED,
  brand: '',
  expiresAt,
  longTermKeyId: 'ed25519:0',
});
