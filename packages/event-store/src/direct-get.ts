import { ErrorCode, type JetStreamManager, type MsgHdrs, type NatsConnection, NatsError } from 'nats';
import type { DirectMsgRequest } from 'nats/lib/jetstream/jsapi_types.js';
import type { DirectStreamAPI } from 'nats/lib/jetstream/types.js';

// Direct get ($JS.API.DIRECT.GET) is answered by any replica of a stream with allow_direct, without
// creating a consumer: one request per message, served from the stream's per-subject index. The
// client's getMessage puts a last_by_subj subject into the request subject
// ($JS.API.DIRECT.GET.<stream>.<subject>, so that permissions can limit it) and sends a by-sequence
// query as a JSON body to $JS.API.DIRECT.GET.<stream>: the two forms the identities may publish
// (nats-access permissions.ts).

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
  return directGet(nc, stream, { last_by_subj: subject }, timeoutMs);
}

/** The message at exactly `seq`, or null when it was deleted or aged out. */
export function getBySeq(
  nc: NatsConnection,
  stream: string,
  seq: number,
  timeoutMs: number,
): Promise<StoredMessage | null> {
  return directGet(nc, stream, { seq }, timeoutMs);
}

/** The first message on `subject` at or after `seq`, or null when there is none. */
export function getNextForSubject(
  nc: NatsConnection,
  stream: string,
  subject: string,
  seq: number,
  timeoutMs: number,
): Promise<StoredMessage | null> {
  return directGet(nc, stream, { seq, next_by_subj: subject }, timeoutMs);
}

async function directGet(
  nc: NatsConnection,
  stream: string,
  query: DirectMsgRequest,
  timeoutMs: number,
): Promise<StoredMessage | null> {
  // checkAPI: false makes no request (the default asks for account info first, which the service
  // identities may not do); the manager is only the client's wrapper around the connection.
  const jsm = await nc.jetstreamManager({ checkAPI: false, timeout: timeoutMs });
  try {
    const { seq, subject, data, header } = await directOf(jsm).getMessage(stream, query);
    if (!Number.isSafeInteger(seq) || seq <= 0 || !subject)
      throw new DirectGetFailed(`direct get from ${stream}: reply without sequence or subject`);
    return { seq, subject, data, headers: header };
  } catch (err) {
    if (err instanceof NatsError && err.code === ErrorCode.JetStream404NoMessages) return null;
    throw err;
  }
}

// nats 2.29 builds every JetStreamManager with `direct`, but leaves it out of the public
// JetStreamManager interface and from the package's exports. The types come from the
// client's own declarations, so a change to them fails the build, and every read of the store
// goes through here, so a change at run time fails the event-store tests.
const directOf = (jsm: JetStreamManager): DirectStreamAPI =>
  (jsm as JetStreamManager & { direct: DirectStreamAPI }).direct;
