import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { localhostTls } from './localhost-tls.js';
import { Recorder } from './recorder.js';

export interface ReceivedMail {
  /** Envelope sender (MAIL FROM); '' for the null sender. */
  from: string;
  /** Envelope recipients that were accepted (RCPT TO). */
  to: string[];
  /** The message as sent after DATA, headers and body. */
  raw: string;
  /** mailparser's reading of `raw`: subject, text, html, headers… */
  parsed: ParsedMail;
  /** The user that authenticated, if any. */
  user: string | null;
  /** True if the message came over STARTTLS. */
  secure: boolean;
  receivedAt: Date;
}

export interface TestSmtpOptions {
  /** Require AUTH (PLAIN or LOGIN) with these credentials; by default no AUTH is offered or needed. */
  auth?: { username: string; password: string };
  /** Offer STARTTLS with a certificate for localhost/127.0.0.1 from a fresh dev CA (see caPem). */
  starttls?: boolean;
  /** Speak TLS from the first byte (smtps://, port 465 style), with such a certificate. */
  implicitTls?: boolean;
  /** Wait this long after each DATA before answering 250 (a slow mail server, for benchmarks). */
  delayMs?: number;
  /** Recipients for which this returns true get 550 at RCPT TO. */
  rejectRecipient?: (address: string) => boolean;
  /** Recipients for which this returns true get 451 (try again later) at RCPT TO; asked once per RCPT TO. */
  deferRecipient?: (address: string) => boolean;
}

export interface TestSmtpServer {
  readonly host: string;
  readonly port: number;
  /** smtp://[user:pass@]127.0.0.1:PORT, as TESSERA_SMTP_URL takes it. */
  readonly url: string;
  /** The CA that signed the TLS certificate; null without starttls or implicitTls. */
  readonly caPem: string | null;
  /** Every accepted message, oldest first. */
  readonly messages: ReceivedMail[];
  /** The first message matching `predicate` (default: any), received already or within `timeoutMs` (default 5 s). */
  waitForMessage(predicate?: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>;
  clear(): void;
  /** Stops listening; connections still open are cut after a quarter of a second. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** An SMTP server on 127.0.0.1 (a free port) that accepts mail and records it. */
export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const received = new Recorder<ReceivedMail>('mail');
  const tls = options.starttls || options.implicitTls ? await localhostTls('Tessera test SMTP CA') : null;
  const implicitTls = options.implicitTls === true;
  const { auth } = options;

  const config: SMTPServerOptions = {
    logger: false,
    banner: 'Tessera test SMTP server',
    disableReverseLookup: true, // no DNS lookups for loopback clients
    closeTimeout: 250,
    authOptional: auth === undefined,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true, // loopback only: AUTH need not wait for STARTTLS
    secure: implicitTls,
    disabledCommands: [...(tls === null || implicitTls ? ['STARTTLS'] : []), ...(auth === undefined ? ['AUTH'] : [])],
    ...(tls === null ? {} : { key: tls.keyPem, cert: tls.certPem }),
    onAuth(attempt, _session, callback) {
      if (auth !== undefined && attempt.username === auth.username && attempt.password === auth.password) {
        callback(null, { user: attempt.username });
      } else {
        callback(withResponseCode(new Error('Invalid username or password'), 535));
      }
    },
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipient?.(address.address)) {
        callback(withResponseCode(new Error(`<${address.address}>: recipient rejected`), 550));
      } else if (options.deferRecipient?.(address.address)) {
        callback(withResponseCode(new Error(`<${address.address}>: try again later`), 451));
      } else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        void (async () => {
          if (options.delayMs) await sleep(options.delayMs);
          const raw = Buffer.concat(chunks).toString('utf8');
          const { mailFrom, rcptTo } = session.envelope;
          received.add({
            from: mailFrom === false ? '' : mailFrom.address,
            to: rcptTo.map((r) => r.address),
            raw,
            parsed: await simpleParser(raw),
            user: typeof session.user === 'string' ? session.user : null,
            secure: session.secure,
            receivedAt: new Date(),
          });
        })().then(() => callback(), callback);
      });
    },
  };
  const server = new SMTPServer(config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  // Errors after start-up (a client that drops the connection) are the client's business.
  server.on('error', () => {});
  const { port } = server.server.address() as AddressInfo;
  const credentials =
    auth === undefined ? '' : `${encodeURIComponent(auth.username)}:${encodeURIComponent(auth.password)}@`;

  return {
    host: HOST,
    port,
    url: `${implicitTls ? 'smtps' : 'smtp'}://${credentials}${HOST}:${port}`,
    caPem: tls?.caPem ?? null,
    messages: received.items,
    waitForMessage: (predicate, timeoutMs) => received.waitFor(predicate, timeoutMs),
    clear: () => received.clear(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function withResponseCode(err: Error, responseCode: number): Error {
  return Object.assign(err, { responseCode });
}
