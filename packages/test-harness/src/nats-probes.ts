import { readFileSync } from 'node:fs';
import {
  AckPolicy,
  connect,
  Empty,
  ErrorCode,
  type NatsConnection,
  NatsError,
  nkeyAuthenticator,
  StringCodec,
} from 'nats';

// Attempts one NATS operation each and tells whether the server allowed it: for the tests of who
// may do what on NATS. A refusal is a permissions violation from the server; any other failure
// (a timeout, a missing stream) is thrown, so that a broken probe cannot pass for a refusal.

export type Outcome = 'allowed' | 'refused';

const sc = StringCodec();

/** Connects as `identity` with the nkey seed in `seedFile`, replies under `_INBOX_<identity>`. */
export async function connectAsIdentity(url: string, identity: string, seedFile: string): Promise<NatsConnection> {
  const seed = new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim());
  return connect({
    servers: url,
    name: `probe-${identity}`,
    authenticator: nkeyAuthenticator(seed),
    inboxPrefix: `_INBOX_${identity}`,
    maxReconnectAttempts: 0,
  });
}

/** 'refused' when the server answers the connection with an authorization violation. */
export async function connectOutcome(connectTo: () => Promise<NatsConnection>): Promise<Outcome> {
  try {
    await (await connectTo()).close();
    return 'allowed';
  } catch (err) {
    if (err instanceof NatsError && err.code === ErrorCode.AuthorizationViolation) return 'refused';
    throw err;
  }
}

export async function outcomeOf(attempt: () => Promise<unknown>): Promise<Outcome> {
  try {
    await attempt();
    return 'allowed';
  } catch (err) {
    if (err instanceof NatsError && err.code === ErrorCode.PermissionsViolation) return 'refused';
    throw err;
  }
}

/** A JetStream publish (the way every event is appended). */
export const appendProbe = (nc: NatsConnection, subject: string, payload: string | Uint8Array = 'probe') =>
  outcomeOf(() =>
    nc.jetstream({ timeout: 3_000 }).publish(subject, typeof payload === 'string' ? sc.encode(payload) : payload),
  );

/** The last message of `subject` in `stream`, by direct get (the subject in the request's subject). */
export const directGetProbe = (nc: NatsConnection, stream: string, subject: string) =>
  outcomeOf(() => nc.request(`$JS.API.DIRECT.GET.${stream}.${subject}`, Empty, { timeout: 3_000 }));

/** The message at sequence `seq` of `stream`, by direct get. */
export const directGetBySeqProbe = (nc: NatsConnection, stream: string, seq: number) =>
  outcomeOf(() => nc.request(`$JS.API.DIRECT.GET.${stream}`, JSON.stringify({ seq }), { timeout: 3_000 }));

export const streamInfoProbe = (nc: NatsConnection, stream: string) =>
  outcomeOf(async () => (await nc.jetstreamManager({ checkAPI: false })).streams.info(stream));

export const streamPurgeProbe = (nc: NatsConnection, stream: string, filter?: string) =>
  outcomeOf(async () => {
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    await (filter === undefined ? jsm.streams.purge(stream) : jsm.streams.purge(stream, { filter }));
  });

export const streamDeleteProbe = (nc: NatsConnection, stream: string) =>
  outcomeOf(async () => (await nc.jetstreamManager({ checkAPI: false })).streams.delete(stream));

export const messageDeleteProbe = (nc: NatsConnection, stream: string, seq: number) =>
  outcomeOf(async () => (await nc.jetstreamManager({ checkAPI: false })).streams.deleteMessage(stream, seq, false));

/** Changes a stream's configuration (to what it is: only the right to change it is probed). */
export const streamUpdateProbe = (nc: NatsConnection, stream: string) =>
  outcomeOf(async () => {
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    await jsm.streams.update(stream, { ...(await jsm.streams.info(stream)).config });
  });

/** Creates a stream that nobody asked for. */
export const streamCreateProbe = (nc: NatsConnection, name: string, subject: string) =>
  outcomeOf(async () => (await nc.jetstreamManager({ checkAPI: false })).streams.add({ name, subjects: [subject] }));

/** Reads a key of a bucket as the client does (direct get of the key's subject). */
export const kvGetProbe = (nc: NatsConnection, bucket: string, key: string) =>
  outcomeOf(async () => (await nc.jetstream().views.kv(bucket, { bindOnly: true, allow_direct: true })).get(key));

/** Creates a key in a bucket (as a data key is made: only if it does not exist). */
export const kvCreateProbe = (nc: NatsConnection, bucket: string, key: string) =>
  outcomeOf(async () => {
    const kv = await nc.jetstream().views.kv(bucket, { bindOnly: true, allow_direct: true });
    await kv.create(key, sc.encode(`probe-${Date.now()}-${Math.random()}`));
  });

/** Purges a key of a bucket (a rollup publish to the key's subject). */
export const kvPurgeProbe = (nc: NatsConnection, bucket: string, key: string) =>
  outcomeOf(async () => (await nc.jetstream().views.kv(bucket, { bindOnly: true, allow_direct: true })).purge(key));

/**
 * Creates (or binds to) the durable `durable` on `stream` and takes one message from it. 'allowed'
 * only when the whole round trip worked, whether or not a message was waiting.
 */
export const consumeProbe = (nc: NatsConnection, stream: string, durable: string, filter: string) =>
  outcomeOf(async () => {
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    await jsm.consumers.add(stream, { durable_name: durable, filter_subject: filter, ack_policy: AckPolicy.Explicit });
    const consumer = await nc.jetstream().consumers.get(stream, durable);
    const msg = await consumer.next({ expires: 1_000 });
    msg?.ack();
  });

/**
 * A core subscription: 'refused' when the server ends it with a permissions violation (the
 * subscription's iterator then throws it). One the server accepts stays open; `waitMs` is how long
 * the probe waits to see which.
 */
export async function subscribeProbe(nc: NatsConnection, subject: string, waitMs = 500): Promise<Outcome> {
  const sub = nc.subscribe(subject);
  const ended = (async (): Promise<unknown> => {
    try {
      for await (const _ of sub) {
        // Messages are no answer either way: only how the subscription ends is.
      }
      return 'ended';
    } catch (err) {
      return err;
    }
  })();
  await nc.flush();
  const outcome = await Promise.race([
    ended,
    new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), waitMs)),
  ]);
  if (outcome === 'open') {
    sub.unsubscribe();
    return 'allowed';
  }
  if (outcome instanceof NatsError && outcome.code === ErrorCode.PermissionsViolation) return 'refused';
  throw new Error(`subscription to ${subject} ended without a permissions violation: ${String(outcome)}`);
}
