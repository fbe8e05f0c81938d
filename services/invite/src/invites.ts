import { normalizeThreepid } from '@tessera/addresses';
import { canonicalJson } from '@tessera/canonical-json';
import type { ProjectionWait } from '@tessera/db';
import { TesseraError } from '@tessera/errors';
import { type DataKeys, type EventStore, handleCommand, loadState, subjectOf } from '@tessera/event-store';
import { InviteMail, InviteSecrets } from '@tessera/proto/tessera/events/v1/invite';
import { randomString } from '@tessera/secure-random';
import type { Secrets } from '@tessera/server-secret';
import { type Logger, parseJsonObject } from '@tessera/service-kit';
import { inviteDataKey, inviteMailDataKey, type Medium, INVITE_SEALED_FIELDS as SEALED } from '@tessera/spec-params';
import { type Blocklists, checkBlocklists } from './blocklists.js';
import { redactedDisplayName } from './display-name.js';
import { type Invite, initial } from './domain/invite.js';
import { storedInvites } from './events/invite-events.js';
import type { InviteCounters } from './metrics.js';
import type { ReadModel } from './read-model.js';
import type { Signing } from './signing.js';

/** `tessera.invite.<inviteId>` */
export const inviteSubject = (inviteId: string) => subjectOf('invite', inviteId);

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_LENGTH = 32;
/** The key id sign-ed25519 labels its signature with, as Sydent does. */
// Sydent points both at v1, which every server keeps serving (invites already in rooms carry them).
const LONG_TERM_VALIDITY_PATH = '/_matrix/identity/api/v1/pubkey/isvalid';
const EPHEMERAL_VALIDITY_PATH = '/_matrix/identity/api/v1/pubkey/ephemeral/isvalid';

export interface InvitesDeps {
  store: EventStore;
  dataKeys: DataKeys;
  secrets: Secrets;
  signing: Signing;
  readModel: ReadModel;
  /** Read-your-writes: a stored invite's key is valid, a revoked one's is not, once the call answers. */
  projected: ProjectionWait;
  /** TESSERA_BIND_VISIBLE_WAIT_MS: how long a call waits for the projector. */
  visibleWaitMs: number;
  blocklists: Blocklists;
  /** TESSERA_INVITE_EXPIRY_MS */
  expiryMs: number;
  /** TESSERA_PUBLIC_BASE_URL */
  publicBaseUrl: string;
  now: () => number;
  counters: InviteCounters;
  log: Logger;
}

/** A store-invite request as the gateway checked it (email only, the address normalised once). */
export type StoreInviteInput = {
  address: string;
  normalisedAddress: string;
  roomId: string;
  sender: string;
  /** The request's other fields, a JSON object ('' for none). */
  fieldsJson: string;
  brand: string;
  /** The sender was checked against the caller's access token (v2): the mail names them verified. */
  senderVerified: boolean;
};

export type PublicKeyEntry = { publicKey: string; keyValidityUrl: string };
export type StoredInviteAnswer = { token: string; publicKeys: PublicKeyEntry[]; displayName: string };

/** What an operator revokes: one invite by its token, or every invite still deliverable to an address. */
export type RevokeTarget = { token: string } | { medium: string; address: string };

export interface Invites {
  store(input: StoreInviteInput): Promise<StoredInviteAnswer>;
  /** `{mxid, sender, token}` signed with the caller's ephemeral seed, as canonical JSON. */
  signEd25519(request: { mxid: string; token: string; privateKey: string }): Promise<string>;
  /** Revokes and erases; answers how many invites this call revoked. */
  revoke(target: RevokeTarget): Promise<number>;
}

export function createInvites(deps: InvitesDeps): Invites {
  const { store, dataKeys, secrets, signing, readModel, now, log } = deps;
  const base = deps.publicBaseUrl.replace(/\/+$/, '');

  const sealInvite = async (inviteId: string, invite: InviteSecrets, mail: InviteMail) => {
    // Fresh ids: no replica holds a key for them, erased or not.
    await dataKeys.createKey(inviteDataKey(inviteId));
    await dataKeys.createKey(inviteMailDataKey(inviteId));
    return {
      secrets: await dataKeys.sealField(inviteDataKey(inviteId), SEALED.secrets, InviteSecrets.encode(invite).finish()),
      mail: await dataKeys.sealField(inviteMailDataKey(inviteId), SEALED.mail, InviteMail.encode(mail).finish()),
    };
  };

  /** The invite's InviteSecrets, or null once its key was erased (revoked). */
  const openSecrets = async (inviteId: string, state: Invite): Promise<InviteSecrets | null> => {
    if (state.status === 'none') return null;
    const opened = await dataKeys.openField(inviteDataKey(inviteId), SEALED.secrets, state.secrets);
    return opened === null ? null : InviteSecrets.decode(opened);
  };

  /** Whether the projector applied `seq` within the bound (logged when not). */
  const visible = async (seq: number) => {
    const applied = await deps.projected.until(seq, deps.visibleWaitMs);
    if (!applied)
      log.warn({ seq, waitedMs: deps.visibleWaitMs }, 'stored but the projector has not applied it in time');
    return applied;
  };

  /** Revokes a pending invite and erases its data keys (also when it was revoked already: a retry after a crash between the two must still erase). */
  const withdraw = async (inviteId: string) => {
    const handled = await handleCommand(store, inviteSubject(inviteId), storedInvites, {
      type: 'RevokeInvite',
      inviteId,
      now: new Date(now()),
    });
    if (handled.state.status === 'revoked') {
      await dataKeys.erase(inviteDataKey(inviteId));
      await dataKeys.erase(inviteMailDataKey(inviteId));
    }
    return handled;
  };

  return {
    async store(input) {
      const fields = input.fieldsJson === '' ? {} : parseJsonObject(input.fieldsJson, 'fields_json');
      checkBlocklists(deps.blocklists, { roomId: input.roomId, sender: input.sender, fields });
      const medium: Medium = 'email';
      const addrKey = secrets.addrKey(medium, input.normalisedAddress);
      const mxid = await readModel.boundMxid(addrKey, now());
      if (mxid !== null)
        throw new TesseraError('M_THREEPID_IN_USE', 'this address is bound to a Matrix user already', {
          extra: { mxid },
        });

      const token = randomString(TOKEN_ALPHABET, TOKEN_LENGTH);
      const inviteId = secrets.digest('invite_token', token);
      const [ephemeral, longTermKey] = await Promise.all([signing.generateEphemeralKeypair(), signing.longTermKey()]);
      const ephemeralPublicKey = urlSafeUnpadded(ephemeral.publicKey);
      const sealed = await sealInvite(
        inviteId,
        {
          address: input.address,
          normalisedAddress: input.normalisedAddress,
          token,
          roomId: input.roomId,
          sender: input.sender,
        },
        {
          ephemeralPrivateKey: ephemeral.privateKey,
          fieldsJson: JSON.stringify(fields),
          senderVerified: input.senderVerified,
        },
      );
      const at = new Date(now());
      const { seq } = await handleCommand(
        store,
        inviteSubject(inviteId),
        storedInvites,
        {
          type: 'StoreInvite',
          invite: {
            inviteId,
            medium,
            addrKey,
            senderKey: secrets.userKey(input.sender),
            ephemeralPublicKey,
            ...sealed,
            brand: input.brand,
            expiresAt: new Date(at.getTime() + deps.expiryMs),
            longTermKeyId: longTermKey.keyId,
          },
          now: at,
        },
        { assume: { state: initial(), seq: 0 } },
      );
      deps.counters.stored.inc();
      log.info({ inviteId, addrKey }, 'invite stored');
      // Answered even when the projector is late: the invite is stored and will be mailed, and a
      // retry would store (and mail) a second one; its key is valid as soon as it is applied.
      if (await visible(seq)) {
        // Bound meanwhile, by a bind stored before this invite: the bindings consumer has passed
        // that binding without seeing the invite, so it would never be delivered. Withdrawn.
        const boundSince = await readModel.boundMxid(addrKey, now());
        if (boundSince !== null) {
          await visible((await withdraw(inviteId)).seq);
          throw new TesseraError('M_THREEPID_IN_USE', 'this address is bound to a Matrix user already', {
            extra: { mxid: boundSince },
          });
        }
      }
      return {
        token,
        publicKeys: [
          { publicKey: longTermKey.publicKey, keyValidityUrl: `${base}${LONG_TERM_VALIDITY_PATH}` },
          { publicKey: ephemeralPublicKey, keyValidityUrl: `${base}${EPHEMERAL_VALIDITY_PATH}` },
        ],
        displayName: redactedDisplayName(input.address),
      };
    },

    async signEd25519({ mxid, token, privateKey }) {
      const inviteId = secrets.digest('invite_token', token);
      const { state } = await loadState(store, inviteSubject(inviteId), storedInvites);
      const invite = state.status === 'revoked' ? null : await openSecrets(inviteId, state);
      if (invite === null) throw new TesseraError('M_UNRECOGNIZED', 'unknown invite token');
      const json = JSON.stringify({ mxid, sender: invite.sender, token });
      return canonicalJson(JSON.parse(await signing.signJsonWithSeed(json, privateKey, '')) as unknown);
    },

    async revoke(target) {
      // By token, from the aggregate itself (an invite just stored may not be projected yet); its
      // decider revokes only a pending invite, never one handed to an onbind call.
      const inviteIds =
        'token' in target
          ? [secrets.digest('invite_token', target.token)]
          : await readModel.revocableInvites(secrets.addrKey('email', emailOf(target)));
      let revoked = 0;
      let lastSeq = 0;
      for (const inviteId of inviteIds) {
        const handled = await withdraw(inviteId);
        if (handled.events.length > 0) revoked++;
        lastSeq = Math.max(lastSeq, handled.seq);
      }
      log.info({ revoked, inviteIds }, 'invites revoked');
      // Revoking again changes nothing and waits again: safe to retry.
      if (!(await visible(lastSeq)))
        throw new TesseraError('M_UNKNOWN', 'revoked, but not yet applied to the read model; retrying is safe', {
          httpStatus: 503,
        });
      return revoked;
    },
  };
}

/** The normalised email of a revocation by address (invites are of email addresses only). */
function emailOf({ medium, address }: { medium: string; address: string }): string {
  if (medium !== 'email')
    throw new TesseraError('M_UNRECOGNIZED', 'invites are of email addresses only', { httpStatus: 400 });
  return normalizeThreepid(medium, address);
}

/** Either base64 alphabet, padded or not, as the unpadded URL-safe form store-invite answers. */
export function urlSafeUnpadded(key: string): string {
  return key.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
}
