import { connect } from 'node:net';

export type SmtpReply = { code: number; text: string };

/**
 * For tests: one whole SMTP transaction over a plain socket (EHLO, MAIL FROM, RCPT TO, DATA,
 * QUIT), written out by hand so that the mail catcher is checked against the protocol rather
 * than against a client library. Resolves with every reply, greeting first; stops at the first
 * reply that is not the expected one.
 */
export async function sendMail(o: {
  host: string;
  port: number;
  from: string;
  to: string;
  message: string;
}): Promise<SmtpReply[]> {
  const socket = connect({ host: o.host, port: o.port });
  socket.setEncoding('utf8');
  const pending: SmtpReply[] = [];
  let waiting: ((reply: SmtpReply) => void) | null = null;
  let buffer = '';
  let lines: string[] = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    for (let eol = buffer.indexOf('\r\n'); eol >= 0; eol = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, eol);
      buffer = buffer.slice(eol + 2);
      lines.push(line.slice(4));
      if (line[3] === '-') continue; // "250-...": more lines of this reply follow
      const reply = { code: Number(line.slice(0, 3)), text: lines.join('\n') };
      lines = [];
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        resolve(reply);
      } else pending.push(reply);
    }
  });
  const closed = new Promise<never>((_resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('the SMTP server closed the connection')));
  });
  closed.catch(() => {});
  const next = (): Promise<SmtpReply> => {
    const ready = pending.shift();
    if (ready) return Promise.resolve(ready);
    const reply = new Promise<SmtpReply>((resolve) => {
      waiting = resolve;
    });
    return Promise.race([reply, closed]);
  };
  // Dot-stuffing: a line that starts with "." gets another one, so it cannot end the message.
  const body = o.message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
  const steps: Array<[line: string | null, expected: number]> = [
    [null, 220], // the greeting
    ['EHLO test.invalid', 250],
    [`MAIL FROM:<${o.from}>`, 250],
    [`RCPT TO:<${o.to}>`, 250],
    ['DATA', 354],
    [`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.`, 250],
    ['QUIT', 221],
  ];
  const replies: SmtpReply[] = [];
  try {
    for (const [line, expected] of steps) {
      if (line !== null) socket.write(`${line}\r\n`);
      const reply = await next();
      replies.push(reply);
      if (reply.code !== expected) break;
    }
    return replies;
  } finally {
    socket.destroy();
  }
}
