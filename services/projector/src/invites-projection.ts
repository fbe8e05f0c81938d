import type { Database, ProjectedMessage } from '@tessera/db';
import type { Logger } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { mediumFromEvent } from '@tessera/spec-params';
import { sql, type Transaction } from 'kysely';
import {
  applyInviteSteps,
  type InviteRow,
  type InviteStep,
  type OnbindRow,
  rowsTouchedBy,
} from './invite-read-model.js';

/** The invites' tables, in the associations projection (one checkpoint for both): what a rebuild empties too. */
export const INVITE_TABLES = ['invite', 'onbind', 'imported_ephemeral_key'] as const;

/** The events that change them (OnbindLeaseRenewed and OnbindAttemptFailed change nothing here). */
export const INVITE_EVENT_TYPES = [
  'InviteStored',
  'InviteClaimed',
  'InviteRevoked',
  'OnbindRequested',
  'OnbindAttemptStarted',
  'OnbindDelivered',
  'OnbindAbandoned',
  'EphemeralKeysImported',
] as const;

// A missing timestamp (never written by the invite service) reads as the epoch: the invite counts
// as expired and the call as past its age, which errs on the side of not delivering. Never the
// time a message was read: a replay must write the same rows.
const EPOCH = new Date(0);

/**
 * The steps of a message's invite and onbind events. Their clear fields are all they need: no key
 * is opened. An InviteStored of a medium this build does not know is passed over (logged), as it
 * would be on a replay: the table admits only email and msisdn.
 */
export function inviteStepsOf(msg: Pick<ProjectedMessage, 'seq' | 'envelope'>, log: Logger): InviteStep[] {
  return msg.envelope.events.flatMap((event: Event): InviteStep[] => {
    const payload = event.payload;
    // When the invite service stored the decision: the envelope's time (the event's if it has none).
    const at = msg.envelope.recordedAt ?? event.occurredAt ?? EPOCH;
    switch (payload?.$case) {
      case 'inviteStored': {
        const { value } = payload;
        const medium = mediumFromEvent(value.medium);
        if (medium === null) {
          log.error({ seq: msg.seq, inviteId: value.inviteId }, 'invite of an unknown medium passed over');
          return [];
        }
        const row: InviteRow = {
          inviteId: value.inviteId,
          medium,
          addrKey: value.addrKey,
          senderKey: value.senderKey,
          ephemeralPublicKey: value.ephemeralPublicKey,
          status: 'pending',
          onbindId: null,
          storedAt: at,
          expiresAt: value.expiresAt ?? EPOCH,
          storedSeq: msg.seq,
        };
        return [{ kind: 'stored', row }];
      }
      case 'inviteClaimed': {
        // An empty onbind id: claimed by the server it was imported from, by no call of ours.
        const { inviteId, onbindId } = payload.value;
        return [{ kind: 'claimed', inviteId, onbindId: onbindId === '' ? null : onbindId }];
      }
      case 'inviteRevoked':
        return [{ kind: 'revoked', inviteId: payload.value.inviteId }];
      case 'onbindRequested': {
        const { value } = payload;
        const row: OnbindRow = {
          onbindId: value.onbindId,
          addrKey: value.addrKey,
          status: 'requested',
          attempts: 0,
          requestedAt: at,
          giveUpAt: value.giveUpAt ?? EPOCH,
          requestedSeq: msg.seq,
        };
        return [{ kind: 'requested', row, inviteIds: value.inviteIds }];
      }
      case 'onbindAttemptStarted':
        return [{ kind: 'attemptStarted', onbindId: payload.value.onbindId, attempt: payload.value.attempt }];
      case 'onbindDelivered':
        return [{ kind: 'ended', onbindId: payload.value.onbindId, outcome: 'delivered' }];
      case 'onbindAbandoned':
        return [{ kind: 'ended', onbindId: payload.value.onbindId, outcome: 'abandoned' }];
      case 'ephemeralKeysImported':
        return [{ kind: 'keysImported', publicKeys: payload.value.publicKeys, seq: msg.seq }];
      default:
        return [];
    }
  });
}

/**
 * Applies a batch's invite steps with a few statements whatever their number: reads the rows they
 * touch, applies the steps to them in stream order (applyInviteSteps), writes the rows that changed.
 */
export async function projectInvites(trx: Transaction<Database>, steps: readonly InviteStep[]): Promise<void> {
  if (steps.length === 0) return;
  const touched = rowsTouchedBy(steps);
  const invites = new Map((await loadInvites(trx, touched)).map((row) => [row.inviteId, row]));
  const onbinds = new Map((await loadOnbinds(trx, touched.onbindIds)).map((row) => [row.onbindId, row]));
  const changed = applyInviteSteps(steps, invites, onbinds);
  await writeInvites(trx, changed.invites);
  await writeOnbinds(trx, changed.onbinds);
  await writeImportedKeys(trx, steps);
}

const anyOf = (ids: string[]) => sql<string>`any(${ids}::text[])`;

async function loadInvites(
  trx: Transaction<Database>,
  { inviteIds, endedOnbindIds }: { inviteIds: string[]; endedOnbindIds: string[] },
): Promise<InviteRow[]> {
  const rows = await trx
    .selectFrom('invite')
    .selectAll()
    .where((eb) => eb.or([eb('invite_id', '=', anyOf(inviteIds)), eb('onbind_id', '=', anyOf(endedOnbindIds))]))
    .execute();
  return rows.map((row) => ({
    inviteId: row.invite_id,
    medium: row.medium,
    addrKey: row.addr_key,
    senderKey: row.sender_key,
    ephemeralPublicKey: row.ephemeral_public_key,
    status: row.status,
    onbindId: row.onbind_id,
    storedAt: row.stored_at,
    expiresAt: row.expires_at,
    storedSeq: Number(row.stored_seq),
  }));
}

async function loadOnbinds(trx: Transaction<Database>, onbindIds: string[]): Promise<OnbindRow[]> {
  if (onbindIds.length === 0) return [];
  const rows = await trx.selectFrom('onbind').selectAll().where('onbind_id', '=', anyOf(onbindIds)).execute();
  return rows.map((row) => ({
    onbindId: row.onbind_id,
    addrKey: row.addr_key,
    status: row.status,
    attempts: row.attempts,
    requestedAt: row.requested_at,
    giveUpAt: row.give_up_at,
    requestedSeq: Number(row.requested_seq),
  }));
}

/** New rows inserted, known ones given their new status (the only columns that change). */
async function writeInvites(trx: Transaction<Database>, rows: InviteRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(pick: (row: InviteRow) => T) => rows.map(pick);
  await sql`
    insert into invite
      (invite_id, medium, addr_key, sender_key, ephemeral_public_key, status, onbind_id, stored_at, expires_at, stored_seq)
    select * from unnest(
      ${column((r) => r.inviteId)}::text[], ${column((r) => r.medium)}::text[], ${column((r) => r.addrKey)}::text[],
      ${column((r) => r.senderKey)}::text[], ${column((r) => r.ephemeralPublicKey)}::text[],
      ${column((r) => r.status)}::text[], ${column((r) => r.onbindId)}::text[],
      ${column((r) => r.storedAt.toISOString())}::timestamptz[], ${column((r) => r.expiresAt.toISOString())}::timestamptz[],
      ${column((r) => r.storedSeq)}::bigint[])
    on conflict (invite_id) do update set status = excluded.status, onbind_id = excluded.onbind_id`.execute(trx);
}

async function writeOnbinds(trx: Transaction<Database>, rows: OnbindRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(pick: (row: OnbindRow) => T) => rows.map(pick);
  await sql`
    insert into onbind (onbind_id, addr_key, status, attempts, requested_at, give_up_at, requested_seq)
    select * from unnest(
      ${column((r) => r.onbindId)}::text[], ${column((r) => r.addrKey)}::text[], ${column((r) => r.status)}::text[],
      ${column((r) => r.attempts)}::integer[], ${column((r) => r.requestedAt.toISOString())}::timestamptz[],
      ${column((r) => r.giveUpAt.toISOString())}::timestamptz[], ${column((r) => r.requestedSeq)}::bigint[])
    on conflict (onbind_id) do update set status = excluded.status, attempts = excluded.attempts`.execute(trx);
}

/** Imported ephemeral keys, each kept with the first batch that held it (a key stays valid for good). */
async function writeImportedKeys(trx: Transaction<Database>, steps: readonly InviteStep[]): Promise<void> {
  const keys = new Map<string, number>();
  for (const step of steps)
    if (step.kind === 'keysImported') for (const key of step.publicKeys) if (!keys.has(key)) keys.set(key, step.seq);
  if (keys.size === 0) return;
  await sql`
    insert into imported_ephemeral_key (public_key, imported_seq)
    select * from unnest(${[...keys.keys()]}::text[], ${[...keys.values()]}::bigint[])
    on conflict (public_key) do nothing`.execute(trx);
}
