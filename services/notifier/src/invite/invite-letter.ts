import { clientLowercaseEmail } from '@tessera/addresses';
import { type DataKeys, SealedValueInvalid } from '@tessera/event-store';
import { InviteMail, InviteSecrets, type InviteStored } from '@tessera/proto/tessera/events/v1/invite';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import { parseJsonObject } from '@tessera/service-kit';
import { inviteDataKey, inviteMailDataKey, INVITE_SEALED_FIELDS as SEALED } from '@tessera/spec-params';

/** What the invite mail is made of, in plaintext: kept in memory for one delivery, never logged. */
export type InviteLetter = {
  /**
   * Where the mail goes: the address as the inviter gave it, lower-cased, as validation mail for
   * that address goes (not the case-folded form, which may name another mailbox: ß becomes ss).
   */
  address: string;
  token: string;
  roomId: string;
  /** The inviter's Matrix user ID. */
  sender: string;
  ephemeralPrivateKey: string;
  /** The store-invite request's other fields, as the template gets them. */
  requestFields: Record<string, unknown>;
  /** store-invite checked the sender against an access token (v2). */
  senderVerified: boolean;
};

export type OpenedInvite =
  | { status: 'open'; letter: InviteLetter }
  /** Nothing can be mailed, whatever is tried later; `reason` names no secret. */
  | { status: 'unusable'; reason: string };

/**
 * Opens InviteStored's two sealed fields: InviteSecrets under `invite.<id>` and InviteMail under
 * `invite.<id>:mail`, each protobuf-encoded. An erased key (the invite was revoked, or its mail
 * is out) makes the invite unusable. Throws only what a later try may cure (NATS unreachable).
 */
export async function openInvite(dataKeys: DataKeys, stored: InviteStored): Promise<OpenedInvite> {
  const { inviteId } = stored;
  try {
    const secretBytes = await open(dataKeys, inviteDataKey(inviteId), SEALED.secrets, stored.secrets);
    const secrets = decoded(InviteSecrets.decode, secretBytes, SEALED.secrets);
    const mailBytes = await open(dataKeys, inviteMailDataKey(inviteId), SEALED.mail, stored.mail);
    const mail = decoded(InviteMail.decode, mailBytes, SEALED.mail);
    return {
      status: 'open',
      letter: {
        address: clientLowercaseEmail(secrets.address) ?? secrets.normalisedAddress,
        token: secrets.token,
        roomId: secrets.roomId,
        sender: secrets.sender,
        ephemeralPrivateKey: mail.ephemeralPrivateKey,
        requestFields: parseFields(mail.fieldsJson),
        senderVerified: mail.senderVerified,
      },
    };
  } catch (err) {
    if (err instanceof Unopenable) return { status: 'unusable', reason: err.message };
    throw err;
  }
}

class Unopenable extends Error {}

async function open(dataKeys: DataKeys, aggregate: string, field: string, sealed: Sealed | undefined) {
  if (sealed === undefined) throw new Unopenable(`the invite has no sealed ${field}`);
  let bytes: Uint8Array | null;
  try {
    bytes = await dataKeys.openField(aggregate, field, sealed);
  } catch (err) {
    if (err instanceof SealedValueInvalid) throw new Unopenable(`the sealed ${field} does not open`);
    throw err;
  }
  // Erased (crypto-shredding): the invite was revoked, or its mail went out already.
  if (bytes === null) throw new Unopenable('erased');
  return bytes;
}

function decoded<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array, field: string): T {
  try {
    return decode(bytes);
  } catch {
    throw new Unopenable(`the sealed ${field} does not decode`);
  }
}

function parseFields(json: string): Record<string, unknown> {
  if (json === '') return {};
  try {
    return parseJsonObject(json, "the invite's request fields");
  } catch (err) {
    // Not JSON, or not an object: says which, never the text.
    throw new Unopenable((err as Error).message);
  }
}
