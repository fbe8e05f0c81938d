import { ASSOCIATIONS_PROJECTION, type Database } from '@tessera/db';
import {
  type AggregateType,
  decodeEnvelope,
  getNextForSubject,
  type Logger,
  SUBJECT_PREFIX,
} from '@tessera/event-store';
import type { Kysely } from 'kysely';
import type { NatsConnection } from 'nats';
import { inviteStepsOf, projectInvites } from './invites-projection.js';

const GET_TIMEOUT_MS = 5_000;
const everyOf = (type: AggregateType) => `${SUBJECT_PREFIX}.${type}.>`;
/** The aggregates whose events the invites' tables are made of. */
const INVITE_SUBJECTS = (['invite', 'onbind', 'onbind_delivery', 'ephemeral_keys'] as const).map(everyOf);

/**
 * Projects the invite and onbind events that a projector of an older version passed over: it took
 * only association events, yet moved the one checkpoint past everything, so an invite service
 * that ran meanwhile (a rolling upgrade) left invites that no later batch would write. Found when
 * the invite table is empty while an InviteStored lies at or below the checkpoint (every projected
 * InviteStored leaves a row, and rows only go with a rebuild, which sets the checkpoint to 0).
 * Those events, read by direct get in stream order, are applied as a batch would apply them; the
 * invites' tables depend on no association row, so the result is what a rebuild would write.
 * Answers how many messages it applied (0 nearly always: one query and at most one get).
 *
 * Run before the projection's runner starts, by whoever holds the projector lock.
 */
export async function catchUpInvites(nc: NatsConnection, db: Kysely<Database>, stream: string, log: Logger) {
  const checkpoint = await db
    .selectFrom('projector_checkpoint')
    .select('last_seq')
    .where('projection', '=', ASSOCIATIONS_PROJECTION)
    .executeTakeFirst();
  const upTo = Number(checkpoint?.last_seq ?? 0);
  if (upTo === 0 || (await db.selectFrom('invite').select('invite_id').limit(1).executeTakeFirst()) !== undefined)
    return 0;
  const first = await getNextForSubject(nc, stream, everyOf('invite'), 1, GET_TIMEOUT_MS);
  if (first === null || first.seq > upTo) return 0;

  log.warn({ upTo }, 'invite events below the checkpoint were passed over (an older projector): projecting them');
  const messages = [];
  for (const subject of INVITE_SUBJECTS)
    for (let seq = 1; ; ) {
      const msg = await getNextForSubject(nc, stream, subject, seq, GET_TIMEOUT_MS);
      if (msg === null || msg.seq > upTo) break;
      messages.push(msg);
      seq = msg.seq + 1;
    }
  messages.sort((a, b) => a.seq - b.seq);
  const steps = messages.flatMap((msg) => {
    try {
      return inviteStepsOf({ seq: msg.seq, envelope: decodeEnvelope(msg.data) }, log);
    } catch (err) {
      // As the runner does with a message that does not decode: passed over, live and in a rebuild.
      log.error({ seq: msg.seq, err: (err as Error).message }, 'undecodable message passed over');
      return [];
    }
  });
  await db.transaction().execute((trx) => projectInvites(trx, steps));
  log.info({ upTo, messages: messages.length }, 'invite events below the checkpoint projected');
  return messages.length;
}
