import { Readable } from 'node:stream';
import SMTPPool from 'nodemailer/lib/smtp-pool';
import type { SendOutcome } from '../send-outcome.js';
import { smtpFailure } from './smtp-failure.js';

/** A rendered message and its SMTP envelope. */
export type OutgoingMail = {
  /** MAIL FROM: the bare sender address. */
  envelopeFrom: string;
  /** RCPT TO: the one recipient. */
  to: string;
  /** The complete RFC 5322 message, CRLF line endings, sent as it is. */
  raw: string;
  /** The message's own Message-ID header (empty when it carries none): what TokenSent records unless the server names another. */
  messageId: string;
};

export type Mailer = {
  send(mail: OutgoingMail): Promise<SendOutcome>;
  /** Closes the pooled connections; messages still queued fail. */
  close(): void;
};

export type SmtpMailerOptions = {
  /** Open connections to the server; each sends one message at a time. */
  maxConnections?: number;
  /** Extra trust for the server's certificate (a private CA), as node:tls takes it. */
  ca?: string;
};

// Bounded waits: the session service waits for the outcome (TESSERA_DELIVERY_WAIT_MS, 10 s by
// default), and the delivery's lease is renewed for as long as a send runs.
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

/**
 * Sends through the server of TESSERA_SMTP_URL: `smtp://[user:pass@]host:port` (STARTTLS when
 * the server offers it), or `smtps://…` (TLS from the start). Connections are pooled and reused,
 * so a send costs a transaction, not a connection and a handshake: that is what makes hundreds
 * of mails a second possible. nodemailer reads further options from the URL's query, e.g.
 * `?tls.rejectUnauthorized=false` for a development server.
 *
 * The message is already complete, so it goes to nodemailer's pool as it is, without the mailer
 * front end: that one would parse it into a MIME tree and draw five random values per message
 * (a Message-ID and boundaries it never uses) only to stream the same bytes back out.
 */
export function createSmtpMailer(url: string, { maxConnections = 10, ca }: SmtpMailerOptions = {}): Mailer {
  const pool = new SMTPPool({
    url,
    maxConnections,
    maxMessages: Number.POSITIVE_INFINITY, // keep a healthy connection; the server closes it when it wants
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    ...(ca === undefined ? {} : { tls: { ca } }),
  });
  return {
    send: (mail) =>
      new Promise((resolve) => {
        pool.send(asPoolMessage(mail), (err, info) => {
          if (err || info === undefined) resolve(smtpFailure(err));
          // Some servers (Microsoft 365, SES) replace the Message-ID; theirs is the one recipients see.
          else resolve({ sent: true, providerMessageId: info.serverMessageId ?? mail.messageId });
        });
      }),
    close: () => pool.close(),
  };
}

type PoolMessage = Parameters<SMTPPool['send']>[0];

/** What the pool reads of a message: its envelope, its Message-ID and its bytes, once. */
function asPoolMessage({ envelopeFrom, to, raw, messageId }: OutgoingMail): PoolMessage {
  const envelope = { from: envelopeFrom, to: [to] };
  const message = {
    getEnvelope: () => envelope,
    messageId: () => messageId,
    getHeader: (name: string) => (name.toLowerCase() === 'message-id' ? messageId : undefined),
    createReadStream: () => Readable.from([Buffer.from(raw, 'utf8')], { objectMode: false }),
  };
  return { data: {}, message } as unknown as PoolMessage;
}
