import type { NodemailerError } from 'nodemailer';
import type { SendOutcome } from '../send-outcome.js';

// SMTP commands that a failure may name; anything else (a server's free text) is left out.
const KNOWN_COMMAND = /^(?:CONN|EHLO|HELO|STARTTLS|AUTH(?: [A-Z0-9-]+)?|MAIL FROM|RCPT TO|DATA|RSET|QUIT)$/;

/**
 * A failed send as an outcome. Refused: the server answered with a 5xx reply (it rejected the
 * recipient, the sender, the message or our credentials; sending again would get the same
 * answer). Not refused: a 4xx reply (try later) or no reply at all (connection refused or cut,
 * timeout, TLS failure). The reason holds the reply code, the command and nodemailer's error code,
 * never the server's text: that text usually quotes the address it rejected.
 */
export function smtpFailure(err: unknown): Extract<SendOutcome, { sent: false }> {
  const { responseCode, command, code } = (err ?? {}) as NodemailerError;
  const at = typeof command === 'string' && KNOWN_COMMAND.test(command) ? ` at ${command}` : '';
  if (typeof responseCode === 'number') {
    const refused = responseCode >= 500 && responseCode < 600;
    return { sent: false, refused, reason: `the mail server answered ${responseCode}${at}` };
  }
  const what = typeof code === 'string' && /^[A-Z_]{2,24}$/.test(code) ? code : 'error';
  return { sent: false, refused: false, reason: `the mail server could not be reached (${what}${at})` };
}
