import { ASSOCIATIONS_PROJECTION, type Database, type ProjectedMessage, type Projection } from '@tessera/db';
import { type Logger, SealedValueInvalid } from '@tessera/event-store';
import { lookupHash } from '@tessera/lookup-hash';
import type { AssociationBound, AssociationUnbound } from '@tessera/proto/tessera/events/v1/association';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { PepperCreated, PepperRetired } from '@tessera/proto/tessera/events/v1/pepper';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import { ASSOCIATION_SEALED_FIELDS, bindingDataKey } from '@tessera/spec-params';
import { sql, type Transaction } from 'kysely';
import { parseAssociation } from './association-record.js';
import { INVITE_EVENT_TYPES, INVITE_TABLES, inviteStepsOf, projectInvites } from './invites-projection.js';
import { lookupHashSql } from './lookup-hash-sql.js';

/** Opens sealed fields (DataKeys): null once the aggregate's key was erased. */
export interface FieldOpener {
  openField(aggregate: string, fieldName: string, sealed: Sealed): Promise<Uint8Array | null>;
}

/** Told where the projection is in the stream (FollowedBindingKeys), to have keys in hand ahead of it. */
export interface ProjectionPosition {
  /** A batch of events stored from `eventMs` on is about to be opened. */
  followFrom(eventMs: number): void;
  /** Events stored up to `eventMs` are projected. */
  projectedUpTo(eventMs: number): void;
}

/** What a rebuild empties: the invites' tables too, which this projection also writes. */
export const ASSOCIATIONS_TABLES = ['association', 'lookup_pepper', 'lookup_hash', ...INVITE_TABLES] as const;

export const PROJECTED_EVENT_TYPES = [
  'AssociationBound',
  'AssociationUnbound',
  'PepperCreated',
  'PepperRetired',
  ...INVITE_EVENT_TYPES,
] as const;

/** An association row as the batch writes it. */
type AssociationRow = {
  addrKey: string;
  medium: 'email' | 'msisdn';
  address: string;
  mxid: string;
  bindingId: string;
  ts: number;
  notBefore: number;
  notAfter: number;
  json: string;
  /** The form matrix-js-sdk hashes, where it differs from `address`. */
  clientForm: string | null;
  boundSeq: number;
};

/** A batch's steps by stream sequence, their bindings opened: what `prepare` gives `project`. */
type PreparedSteps = ReadonlyMap<number, Step[]>;

/** What a run of association events leaves for one address key, folded in stream order. */
type Outcome =
  | { kind: 'bound'; row: AssociationRow }
  | { kind: 'gone' }
  /** Unbound events about a row this batch has not written: each ends it only if it is still that binding. */
  | { kind: 'unbound'; bindingIds: string[] };

type Step =
  | { kind: 'bound'; seq: number; event: AssociationBound; opened: AssociationRow | null }
  | { kind: 'unbound'; event: AssociationUnbound }
  | { kind: 'pepperCreated'; seq: number; event: PepperCreated; at: Date }
  | { kind: 'pepperRetired'; event: PepperRetired };

const hashOf = lookupHashSql(sql.ref('f.form'), sql.ref('a.medium'), sql.ref('p.pepper'));

/**
 * The `associations` projection: association rows, the live peppers and, for each live pepper, the
 * hashed index of every lookup form; and the invites' read model (invites-projection.ts), under the
 * same checkpoint, so that "the checkpoint covers a sequence" says it of both. Every row comes from
 * the events and their sealed fields, so a replay writes the same rows. A binding whose data key is
 * erased is gone: a later event replaced or ended it, and its row goes, which keeps a rebuild after
 * crypto-shredding exact.
 *
 * A batch is applied in stream order, with set-based statements: the association events between
 * two pepper events are folded per address key and written together. Its bindings are opened
 * beforehand (`prepare`, outside the transaction, while the batch before is written), their data
 * keys asked for all at once.
 */
export function associationsProjection({
  keys,
  log,
  position,
}: {
  keys: FieldOpener;
  log: Logger;
  position?: ProjectionPosition;
}): Projection<Database, PreparedSteps> {
  const open = async (seq: number, event: AssociationBound): Promise<AssociationRow | null> => {
    const aggregate = bindingDataKey(event.addrKey, event.bindingId);
    try {
      if (event.association === undefined) throw new SealedValueInvalid('no sealed association');
      const json = await keys.openField(aggregate, ASSOCIATION_SEALED_FIELDS.association, event.association);
      if (json === null) return null; // erased: replaced or ended by a later event
      const record = parseAssociation(Buffer.from(json).toString('utf8'));
      if (record === null) throw new SealedValueInvalid('the sealed association is not a signed association');
      const sealedForm = event.clientLowercaseAddress;
      const form =
        sealedForm === undefined
          ? null
          : await keys.openField(aggregate, ASSOCIATION_SEALED_FIELDS.clientLowercaseAddress, sealedForm);
      const clientForm = form === null ? null : Buffer.from(form).toString('utf8');
      return {
        addrKey: event.addrKey,
        ...record,
        bindingId: event.bindingId,
        json: Buffer.from(json).toString('utf8'),
        clientForm: clientForm === record.address ? null : clientForm,
        boundSeq: seq,
      };
    } catch (err) {
      if (!(err instanceof SealedValueInvalid)) throw err; // the key store failed: the batch is tried again
      // It will not open on a replay either: the binding counts as gone, live and in a rebuild alike.
      log.error({ seq, addrKey: event.addrKey, err: err.message }, 'unreadable binding passed over as gone');
      return null;
    }
  };

  // Every binding's keys are asked for at once; a failure fails the batch before anything is written.
  const prepare = async (batch: readonly ProjectedMessage[]): Promise<PreparedSteps> => {
    const first = batch[0];
    if (first !== undefined) position?.followFrom(first.timestampMs);
    return new Map(await Promise.all(batch.map(async (msg) => [msg.seq, await stepsOf(msg, open)] as const)));
  };

  return {
    name: ASSOCIATIONS_PROJECTION,
    tables: ASSOCIATIONS_TABLES,
    eventTypes: PROJECTED_EVENT_TYPES,
    prepare,
    async project(batch, trx, prepared) {
      // The runner prepared these messages; a projection called without it prepares them here.
      const known = batch.every((msg) => prepared?.has(msg.seq)) ? prepared : await prepare(batch);
      const steps = batch.flatMap((msg) => known.get(msg.seq) ?? []);
      let run = new Map<string, Outcome>();
      for (const step of steps) {
        if (step.kind === 'bound' || step.kind === 'unbound') {
          fold(run, step);
          continue;
        }
        await writeAssociations(trx, run); // a pepper's index covers the associations before it
        run = new Map();
        if (step.kind === 'pepperCreated') await createPepper(trx, step);
        else await retirePepper(trx, step.event.pepperId);
      }
      await writeAssociations(trx, run);
      // The invites' tables are apart from the associations': their steps keep their own order.
      await projectInvites(
        trx,
        batch.flatMap((msg) => inviteStepsOf(msg, log)),
      );
      const last = batch.at(-1);
      if (last !== undefined) position?.projectedUpTo(last.timestampMs);
    },
  };
}

function stepsOf(
  msg: ProjectedMessage,
  open: (seq: number, event: AssociationBound) => Promise<AssociationRow | null>,
): Promise<Step[]> {
  return Promise.all(
    msg.envelope.events.flatMap((event: Event): (Step | Promise<Step>)[] => {
      const payload = event.payload;
      switch (payload?.$case) {
        case 'associationBound': {
          const { value } = payload;
          return [open(msg.seq, value).then((opened) => ({ kind: 'bound', seq: msg.seq, event: value, opened }))];
        }
        case 'associationUnbound':
          return [{ kind: 'unbound', event: payload.value }];
        case 'pepperCreated': {
          const at = event.occurredAt ?? msg.envelope.recordedAt ?? new Date(0);
          return [{ kind: 'pepperCreated', seq: msg.seq, event: payload.value, at }];
        }
        case 'pepperRetired':
          return [{ kind: 'pepperRetired', event: payload.value }];
        default:
          return [];
      }
    }),
  );
}

function fold(run: Map<string, Outcome>, step: Step & { kind: 'bound' | 'unbound' }): void {
  const addrKey = step.event.addrKey;
  if (step.kind === 'bound') {
    const row = step.opened;
    run.set(addrKey, row === null ? { kind: 'gone' } : { kind: 'bound', row });
    return;
  }
  const bindingId = step.event.bindingId;
  const before = run.get(addrKey);
  if (before === undefined) run.set(addrKey, { kind: 'unbound', bindingIds: [bindingId] });
  else if (before.kind === 'unbound') before.bindingIds.push(bindingId);
  else if (before.kind === 'bound' && before.row.bindingId === bindingId) run.set(addrKey, { kind: 'gone' });
}

/** Writes what a run of association events left for each address key: a few statements for the whole run. */
async function writeAssociations(trx: Transaction<Database>, run: Map<string, Outcome>): Promise<void> {
  const gone: string[] = [];
  const unbound: { addrKeys: string[]; bindingIds: string[] } = { addrKeys: [], bindingIds: [] };
  const bound: AssociationRow[] = [];
  for (const [addrKey, outcome] of run) {
    if (outcome.kind === 'gone') gone.push(addrKey);
    else if (outcome.kind === 'bound') bound.push(outcome.row);
    else
      for (const bindingId of outcome.bindingIds) {
        unbound.addrKeys.push(addrKey);
        unbound.bindingIds.push(bindingId);
      }
  }
  if (gone.length > 0)
    await sql`
      with ended as (delete from association where addr_key = any(${gone}::text[]) returning addr_key)
      delete from lookup_hash h using ended where h.addr_key = ended.addr_key`.execute(trx);
  if (unbound.addrKeys.length > 0)
    await sql`
      with ended as (
        delete from association a
        using unnest(${unbound.addrKeys}::text[], ${unbound.bindingIds}::text[]) as u(addr_key, binding_id)
        where a.addr_key = u.addr_key and a.binding_id = u.binding_id
        returning a.addr_key)
      delete from lookup_hash h using ended where h.addr_key = ended.addr_key`.execute(trx);
  if (bound.length > 0) await upsertAssociations(trx, bound);
}

/**
 * Writes the rows, then their hashes for every live pepper. Only a row that replaced one had
 * hashes before (a new address key has none to delete: most of a replay); the hashes are computed
 * here, with lookupHash, so PostgreSQL need not read the rows back.
 */
async function upsertAssociations(trx: Transaction<Database>, rows: AssociationRow[]): Promise<void> {
  const column = <T>(pick: (row: AssociationRow) => T) => rows.map(pick);
  const { rows: written } = await sql<{ addr_key: string; replaced: boolean }>`
    insert into association
      (addr_key, medium, address, mxid, binding_id, ts, not_before, not_after, association_json, lookup_forms, bound_seq)
    select u.addr_key, u.medium, u.address, u.mxid, u.binding_id, u.ts, u.not_before, u.not_after, u.association_json,
      case when u.client_form is null then array[u.address] else array[u.address, u.client_form] end, u.bound_seq
    from unnest(
      ${column((r) => r.addrKey)}::text[], ${column((r) => r.medium)}::text[], ${column((r) => r.address)}::text[],
      ${column((r) => r.mxid)}::text[], ${column((r) => r.bindingId)}::text[], ${column((r) => r.ts)}::bigint[],
      ${column((r) => r.notBefore)}::bigint[], ${column((r) => r.notAfter)}::bigint[], ${column((r) => r.json)}::text[],
      ${column((r) => r.clientForm)}::text[], ${column((r) => r.boundSeq)}::bigint[]
    ) as u(addr_key, medium, address, mxid, binding_id, ts, not_before, not_after, association_json, client_form, bound_seq)
    on conflict (addr_key) do update set
      medium = excluded.medium, address = excluded.address, mxid = excluded.mxid, binding_id = excluded.binding_id,
      ts = excluded.ts, not_before = excluded.not_before, not_after = excluded.not_after,
      association_json = excluded.association_json, lookup_forms = excluded.lookup_forms, bound_seq = excluded.bound_seq
    returning addr_key, xmax <> 0 as replaced`.execute(trx);
  // xmax is set on a row the statement updated (it replaced one) and 0 on one it inserted.
  const stale = written.filter((row) => row.replaced).map((row) => row.addr_key);
  if (stale.length > 0) await sql`delete from lookup_hash where addr_key = any(${stale}::text[])`.execute(trx);
  // Every live pepper indexes every form afresh, a pepper created earlier in this batch too.
  const peppers = await trx.selectFrom('lookup_pepper').select(['pepper_id', 'pepper']).execute();
  const hashes: { pepperIds: string[]; hashes: string[]; addrKeys: string[] } = {
    pepperIds: [],
    hashes: [],
    addrKeys: [],
  };
  for (const { pepper_id, pepper } of peppers)
    for (const row of rows)
      for (const form of row.clientForm === null ? [row.address] : [row.address, row.clientForm]) {
        hashes.pepperIds.push(pepper_id);
        hashes.hashes.push(lookupHash(form, row.medium, pepper));
        hashes.addrKeys.push(row.addrKey);
      }
  if (hashes.hashes.length > 0)
    await sql`
      insert into lookup_hash (pepper_id, hash, addr_key)
      select * from unnest(${hashes.pepperIds}::text[], ${hashes.hashes}::text[], ${hashes.addrKeys}::text[])
      on conflict do nothing`.execute(trx);
}

/** The pepper row and its whole index, in one statement: a pepper row means a complete index. */
async function createPepper(trx: Transaction<Database>, step: Step & { kind: 'pepperCreated' }): Promise<void> {
  const { pepperId, pepper } = step.event;
  await sql`
    with p as (
      insert into lookup_pepper (pepper_id, pepper, created_seq, created_at)
      values (${pepperId}, ${pepper}, ${step.seq}, ${step.at})
      on conflict do nothing
      returning pepper_id, pepper)
    insert into lookup_hash (pepper_id, hash, addr_key)
    select p.pepper_id, ${hashOf}, a.addr_key
    from p cross join association a cross join lateral unnest(a.lookup_forms) as f(form)
    on conflict do nothing`.execute(trx);
}

async function retirePepper(trx: Transaction<Database>, pepperId: string): Promise<void> {
  await sql`delete from lookup_hash where pepper_id = ${pepperId}`.execute(trx);
  await sql`delete from lookup_pepper where pepper_id = ${pepperId}`.execute(trx);
}
