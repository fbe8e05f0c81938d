import { createHash } from 'node:crypto';
import type { ItemOutcome } from '@tessera/admin-imports';
import { type ProjectionWait, untilAppliedWhileAdvancing } from '@tessera/db';
import { TesseraError } from '@tessera/errors';
import { type DataKeys, type EventStore, handleCommand, loadState, subjectOf } from '@tessera/event-store';
import { InviteSecrets } from '@tessera/proto/tessera/events/v1/invite';
import type { Secrets } from '@tessera/server-secret';
import type { Logger } from '@tessera/service-kit';
import { INVITE_SEALED_FIELDS, inviteDataKey } from '@tessera/spec-params';
import { storedEphemeralKeys } from '../events/ephemeral-keys-events.js';
import { storedInvites } from '../events/invite-events.js';
import { inviteSubject } from '../invites.js';
import type { ReadModel } from '../read-model.js';
import type { Signing } from '../signing.js';
import { type CheckedInvite, checkEphemeralKeyImport, checkInviteImport } from './import-items.js';

/** Invites stored at once (each a load, a data key, a seal and an append). */
const STORE_CONCURRENCY = 64;

export interface InviteImportsDeps {
  store: EventStore;
  dataKeys: DataKeys;
  secrets: Secrets;
  signing: Signing;
  projected: ProjectionWait;
  /** Which ephemeral keys an earlier import brought already. */
  importedEphemeralKeys: ReadModel['importedEphemeralKeys'];
  /** TESSERA_BIND_VISIBLE_WAIT_MS: how long the projector may apply nothing before a request gives up waiting. */
  visibleWaitMs: number;
  /** TESSERA_INVITE_EXPIRY_MS */
  expiryMs: number;
  now: () => number;
  log: Logger;
}

/** The admin API's imports (`tessera import sydent`): one outcome per item, in order. */
export interface InviteImports {
  invites(items: readonly unknown[]): Promise<ItemOutcome[]>;
  ephemeralKeys(items: readonly unknown[]): Promise<ItemOutcome[]>;
}

/**
 * Invites and ephemeral keys from Sydent, through the same decider, data keys and appends as
 * store-invite. An item stored already (an invite by its token's digest, a batch of keys by the
 * digest of its keys; a key the projector has from any earlier batch) is `present` and nothing is
 * written for it, not even a data key, so running
 * an import again appends nothing and finishes one that stopped half-way. Each request answers once
 * the projector has applied what it appended (waiting as long as the projector keeps applying).
 */
export function createInviteImports(deps: InviteImportsDeps): InviteImports {
  const { store, dataKeys, secrets, log } = deps;

  const importInvite = async (invite: CheckedInvite, longTermKeyId: string, importedAt: Date) => {
    const inviteId = secrets.digest('invite_token', invite.token);
    const subject = inviteSubject(inviteId);
    const loaded = await loadState(store, subject, storedInvites);
    if (loaded.state.status !== 'none') return { outcome: 'present' as const, seq: 0 };
    // Made before the append: a crash in between leaves a key that the run after it uses.
    await dataKeys.createKey(inviteDataKey(inviteId));
    const { token, address, normalisedAddress, roomId, sender } = invite;
    const sealed = await dataKeys.sealField(
      inviteDataKey(inviteId),
      INVITE_SEALED_FIELDS.secrets,
      InviteSecrets.encode({ address, normalisedAddress, token, roomId, sender }).finish(),
    );
    const handled = await handleCommand(
      store,
      subject,
      storedInvites,
      {
        type: 'ImportInvite',
        invite: {
          inviteId,
          medium: 'email',
          addrKey: secrets.addrKey('email', normalisedAddress),
          senderKey: secrets.userKey(sender),
          // Sydent does not link an invite to its ephemeral key: the keys come in their own import.
          ephemeralPublicKey: '',
          secrets: sealed,
          brand: '',
          // Sydent's invites never expired; here they do, counted from the import.
          expiresAt: new Date(importedAt.getTime() + deps.expiryMs),
          longTermKeyId,
        },
        receivedAt: invite.receivedAt,
        attemptedAt: invite.attemptedAt,
      },
      { assume: loaded },
    );
    // Nothing decided: another import of the same invite got there first.
    return { outcome: handled.events.length > 0 ? ('imported' as const) : ('present' as const), seq: handled.seq };
  };

  /** Whether the projector applied `seq`; 503 (safe to retry: nothing is imported twice) when it stalls. */
  const visible = async (seq: number) => {
    if (seq === 0 || (await untilAppliedWhileAdvancing(deps.projected, seq, deps.visibleWaitMs))) return;
    throw new TesseraError('M_UNKNOWN', 'imported, but not yet applied to the read model; retrying is safe', {
      httpStatus: 503,
    });
  };

  return {
    async invites(items) {
      const checked = items.map(checkInviteImport);
      const outcomes: ItemOutcome[] = checked.map((item) =>
        'refused' in item ? { outcome: 'refused', reason: item.refused } : { outcome: 'imported' },
      );
      if (checked.every((item) => 'refused' in item)) return outcomes;
      // The key onbind signs the invites' `signed` with: the one Sydent's rooms name, now signing's.
      const { keyId } = await deps.signing.longTermKey();
      const importedAt = new Date(deps.now());
      let lastSeq = 0;
      await eachAtMost(STORE_CONCURRENCY, checked, async (item, i) => {
        if ('refused' in item) return;
        const { outcome, seq } = await importInvite(item, keyId, importedAt);
        outcomes[i] = { outcome };
        lastSeq = Math.max(lastSeq, seq);
      });
      log.info(countsOf(outcomes), 'invites imported');
      await visible(lastSeq);
      return outcomes;
    },

    async ephemeralKeys(items) {
      const checked = items.map(checkEphemeralKeyImport);
      const given = checked.filter((key): key is string => typeof key === 'string');
      // Keys an earlier run brought are present, however that run cut its batches.
      const known = await deps.importedEphemeralKeys(given);
      const publicKeys = [...new Set(given.filter((key) => !known.has(key)))];
      let outcome: 'imported' | 'present' = 'present';
      if (publicKeys.length > 0) {
        const handled = await handleCommand(
          store,
          subjectOf('ephemeral_keys', batchIdOf(publicKeys)),
          storedEphemeralKeys,
          {
            type: 'ImportEphemeralKeys',
            publicKeys,
            now: new Date(deps.now()),
          },
        );
        if (handled.events.length > 0) outcome = 'imported';
        await visible(handled.seq);
      }
      const outcomes = checked.map(
        (key): ItemOutcome =>
          typeof key !== 'string'
            ? { outcome: 'refused', reason: key.refused }
            : { outcome: known.has(key) ? 'present' : outcome },
      );
      log.info(countsOf(outcomes), 'ephemeral keys imported');
      return outcomes;
    },
  };
}

/** A batch's id: the digest of its keys in order, so the same batch names the same aggregate. */
export function batchIdOf(publicKeys: readonly string[]): string {
  return createHash('sha256').update(publicKeys.join('\n'), 'utf8').digest('base64url');
}

/** Runs `work` on every item, at most `limit` at a time; the first failure fails the whole. */
async function eachAtMost<T>(limit: number, items: readonly T[], work: (item: T, i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function countsOf(outcomes: readonly ItemOutcome[]) {
  const counts = { imported: 0, present: 0, refused: 0 };
  for (const { outcome } of outcomes) counts[outcome]++;
  return counts;
}
