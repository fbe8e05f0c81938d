// What the invite service appends for a store-invite, and for an operator's revocation, written
// the way it will write them (sealed fields as agreed in invite.proto and spec-params), for this
// service's integration tests. Not used by the service itself.
import { randomBytes, randomUUID } from 'node:crypto';
import { type DataKeys, type EventStore, newEvent, subjectOf } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { InviteMail, InviteSecrets } from '@tessera/proto/tessera/events/v1/invite';
import { inviteDataKey, inviteMailDataKey, mediumToEvent, INVITE_SEALED_FIELDS as SEALED } from '@tessera/spec-params';

export type StoredInvite = {
  inviteId: string;
  address: string;
  token: string;
  roomId: string;
  sender: string;
  ephemeralPrivateKey: string;
  /** The InviteStored event, as appended (for appending it again). */
  stored: Event;
};

const letters = (length: number) =>
  Array.from(
    randomBytes(length),
    (byte) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[byte % 62],
  ).join('');

/**
 * Appends InviteStored to `tessera.invite.<invite_id>`, with InviteSecrets sealed under
 * `invite.<id>` and InviteMail under `invite.<id>:mail`, each protobuf-encoded.
 * `eraseSecrets: true` erases the invite's key right after sealing, before anything is appended.
 */
export async function storeInvite(
  { store, dataKeys }: { store: EventStore; dataKeys: DataKeys },
  options: {
    address: string;
    fields?: Record<string, unknown>;
    brand?: string;
    expiresAt?: Date;
    eraseSecrets?: boolean;
    senderVerified?: boolean;
    /** By default a well-formed room of example.org. */
    roomId?: string;
    /** Imported from Sydent, as the invite service stores it: no mail, no ephemeral key. */
    imported?: boolean;
  },
): Promise<StoredInvite> {
  // The real id is the token's keyed digest (base64url); any id of that alphabet will do here.
  const inviteId = randomBytes(32).toString('base64url');
  const token = letters(32);
  const roomId = options.roomId ?? `!${letters(12)}:example.org`;
  const sender = '@alice:example.org';
  const ephemeralPrivateKey = randomBytes(32).toString('base64').replace(/=+$/, '');
  const secrets = await dataKeys.sealField(
    inviteDataKey(inviteId),
    SEALED.secrets,
    InviteSecrets.encode({
      address: options.address,
      normalisedAddress: options.address.toLowerCase(),
      token,
      roomId,
      sender,
    }).finish(),
  );
  const imported = options.imported ?? false;
  const mail = imported
    ? undefined
    : await dataKeys.sealField(
        inviteMailDataKey(inviteId),
        SEALED.mail,
        InviteMail.encode({
          ephemeralPrivateKey,
          fieldsJson: JSON.stringify(options.fields ?? {}),
          senderVerified: options.senderVerified ?? false,
        }).finish(),
      );
  if (options.eraseSecrets) await dataKeys.erase(inviteDataKey(inviteId));
  const stored = newEvent(
    {
      $case: 'inviteStored',
      value: {
        inviteId,
        medium: mediumToEvent('email'),
        addrKey: `hmac-of-${inviteId}`,
        senderKey: 'hmac-of-alice',
        ephemeralPublicKey: imported ? '' : randomBytes(32).toString('base64url'),
        secrets,
        mail,
        brand: options.brand ?? '',
        expiresAt: options.expiresAt ?? new Date(Date.now() + 30 * 86_400_000),
        longTermKeyId: 'ed25519:0',
        imported,
      },
    },
    new Date(),
  );
  await store.append(subjectOf('invite', inviteId), [stored], {
    expectedSeq: 0,
    correlationId: `req-${randomUUID()}`,
  });
  return { inviteId, address: options.address, token, roomId, sender, ephemeralPrivateKey, stored };
}

/** Appends another event to the invite's subject (its InviteStored again, an InviteRevoked…). */
export async function appendToInvite(store: EventStore, inviteId: string, event: Event): Promise<void> {
  const subject = subjectOf('invite', inviteId);
  const { lastSeq } = await store.load(subject);
  await store.append(subject, [event], { expectedSeq: lastSeq, correlationId: `req-${randomUUID()}` });
}

/**
 * An operator's revocation, as the invite service records it: InviteRevoked, then both keys
 * erased; `eraseKeys: false` stops before the erasure (a revocation caught between the two).
 */
export async function revokeInvite(
  { store, dataKeys }: { store: EventStore; dataKeys: DataKeys },
  inviteId: string,
  { eraseKeys = true }: { eraseKeys?: boolean } = {},
): Promise<void> {
  await appendToInvite(store, inviteId, newEvent({ $case: 'inviteRevoked', value: { inviteId } }, new Date()));
  if (!eraseKeys) return;
  await dataKeys.erase(inviteDataKey(inviteId));
  await dataKeys.erase(inviteMailDataKey(inviteId));
}
