import { createTransport } from 'nodemailer';
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
  /** The message's own Message-ID header: what TokenSent records unless the server names another. */
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
// default), and the consumer's ack wait must be longer than any send.
const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 20_000;

/**
 * Sends through the server of TESSERA_SMTP_URL: `smtp://[user:pass@]host:port` (STARTTLS when
 * the server offers it), or `smtps://…` (TLS from the start). Connections are pooled and reused,
 * so a send costs a transaction, not a connection and a handshake: that is what makes hundreds
 * of mails a second possible. nodemailer reads further options from the URL's query, e.g.
 * `?tls.rejectUnauthorized=false` for a development server.
 */
export function createSmtpMailer(url: string, { maxConnections = 10, ca }: SmtpMailerOptions = {}): Mailer {
  const transport = createTransport({
    url,
    pool: true,
    maxConnections,
    maxMessages: Number.POSITIVE_INFINITY, // keep a healthy connection; the server closes it when it wants
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    ...(ca === undefined ? {} : { tls: { ca } }),
  });
  return {
    async send({ envelopeFrom, to, raw, messageId }) {
      try {
        const info = await transport.sendMail({ envelope: { from: envelopeFrom, to: [to] }, raw });
        // Some servers (Microsoft 365, SES) replace the Message-ID; theirs is the one recipients see.
        return { sent: true, providerMessageId: info.serverMessageId ?? messageId };
      } catch (err) {
        return smtpFailure(err);
      }
    },
    close: () => transport.close(),
  };
}
