import { readFileSync } from 'node:fs';
import { type Envelope, Envelope as EnvelopeCodec } from '@tessera/proto/tessera/events/v1/envelope';
import {
  AckPolicy,
  type Authenticator,
  connect,
  credsAuthenticator,
  DeliverPolicy,
  type NatsConnection,
  nkeyAuthenticator,
} from 'nats';

/** The lasting stream, and the one durable consumer the analytics identity may use on it. */
export const STREAM = 'TESSERA_EVENTS';
export const DURABLE = 'analytics';

/** An nkey seed file (`SU…`, as `tessera nats-identities` writes them) or a `.creds` file. */
export function authenticatorOf(file: string): Authenticator {
  const text = readFileSync(file, 'utf8');
  const bytes = new TextEncoder().encode(text.trim());
  return text.includes('-----BEGIN NATS USER JWT-----') ? credsAuthenticator(bytes) : nkeyAuthenticator(bytes);
}

/** Each identity may only receive replies under its own prefix, so no one reads another's answers. */
export const INBOX_PREFIX = '_INBOX_analytics';

export async function connectAsAnalytics(url: string, credentialsFile: string): Promise<NatsConnection> {
  return connect({
    servers: url.split(','), // a cluster's URLs, comma-separated as the runner's state file gives them
    authenticator: authenticatorOf(credentialsFile),
    inboxPrefix: INBOX_PREFIX,
    name: 'tessera-analytics-example',
  });
}

/**
 * Every message of the lasting stream, from the first to the last there was when it started, in
 * order. The identity's durable consumer is made again from the start each time (its rights allow
 * that one name only), so each report counts the whole stream; a live pipeline would keep it and
 * acknowledge as it goes instead.
 */
export async function* readWholeStream(nc: NatsConnection): AsyncGenerator<{ seq: number; envelope: Envelope }> {
  const jsm = await nc.jetstreamManager();
  const lastSeq = (await jsm.streams.info(STREAM)).state.last_seq;
  if (lastSeq === 0) return;
  await jsm.consumers.delete(STREAM, DURABLE).catch((err: Error) => {
    if (!/consumer not found/i.test(err.message)) throw err;
  });
  await jsm.consumers.add(STREAM, {
    durable_name: DURABLE,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 60_000_000_000, // a minute, in ns: a report that dies leaves nothing behind for long
  });
  const messages = await (await nc.jetstream().consumers.get(STREAM, DURABLE)).consume({ max_messages: 500 });
  try {
    for await (const message of messages) {
      yield { seq: message.seq, envelope: EnvelopeCodec.decode(message.data) };
      if (message.seq >= lastSeq) break;
    }
  } finally {
    // stop(), not close(): close() waits for a pull that a stopped iteration never finishes.
    messages.stop();
  }
}
