import { Empty, type MsgHdrs, type NatsConnection } from 'nats';

// Direct get ($JS.API.DIRECT.GET) is answered by any replica of a stream with allow_direct, without
// creating a consumer: one request per message, served from the stream's per-subject index.
const DIRECT_GET = '$JS.API.DIRECT.GET';
const NOT_FOUND = 404;

export type StoredMessage = { seq: number; subject: string; data: Uint8Array; headers: MsgHdrs };

export class DirectGetFailed extends Error {
  override readonly name = 'DirectGetFailed';
}

/** The last message on `subject`, or null when the subject has none. */
export function getLastForSubject(
  nc: NatsConnection,
  stream: string,
  subject: string,
  timeoutMs: number,
): Promise<StoredMessage | null> {
  // The subject goes into the request subject (not the JSON body) so that permissions can limit it.
  return directGet(nc, `${DIRECT_GET}.${stream}.${subject}`, Empty, timeoutMs);
}

/** The message at exactly `seq`, or null when it was deleted or aged out. */
export function getBySeq(
  nc: NatsConnection,
  stream: string,
  seq: number,
  timeoutMs: number,
): Promise<StoredMessage | null> {
  return directGet(nc, `${DIRECT_GET}.${stream}`, JSON.stringify({ seq }), timeoutMs);
}

/** The first message on `subject` at or after `seq`, or null when there is none. */
export function getNextForSubject(
  nc: NatsConnection,
  stream: string,
  subject: string,
  seq: number,
  timeoutMs: number,
): Promise<StoredMessage | null> {
  return directGet(nc, `${DIRECT_GET}.${stream}`, JSON.stringify({ seq, next_by_subj: subject }), timeoutMs);
}

async function directGet(
  nc: NatsConnection,
  requestSubject: string,
  body: Uint8Array | string,
  timeoutMs: number,
): Promise<StoredMessage | null> {
  const reply = await nc.request(requestSubject, body, { timeout: timeoutMs });
  const h = reply.headers;
  if (h === undefined) throw new DirectGetFailed(`${requestSubject}: reply without headers`);
  if (h.code === NOT_FOUND) return null;
  if (h.hasError || h.code !== 0) throw new DirectGetFailed(`${requestSubject}: ${h.code} ${h.description}`);
  const seq = Number(h.get('Nats-Sequence'));
  const subject = h.get('Nats-Subject');
  if (!Number.isSafeInteger(seq) || seq <= 0 || subject === '')
    throw new DirectGetFailed(`${requestSubject}: reply without sequence or subject`);
  return { seq, subject, data: reply.data, headers: h };
}
