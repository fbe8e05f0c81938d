import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * The lightest SMTP server that still speaks the protocol: it answers each command, reads DATA to
 * the closing dot, counts messages per recipient and parses nothing, so a benchmark measures
 * Tessera and not the mail server. `delayMs` holds each DATA answer back, like a slow server;
 * `keepMessages` keeps each message's text and arrival time, by recipient.
 */
export interface SmtpSink {
  url: string;
  /** Recipient → number of messages received for it. */
  received: Map<string, number>;
  /** Recipient → its messages as received (DATA, dot-stuffing undone), when kept. */
  messages: Map<string, SunkMessage[]>;
  total(): number;
  close(): Promise<void>;
}

export type SunkMessage = { receivedAt: number; data: string };

export async function startSmtpSink({
  delayMs = 0,
  keepMessages = false,
}: {
  delayMs?: number;
  keepMessages?: boolean;
} = {}): Promise<SmtpSink> {
  const received = new Map<string, number>();
  const messages = new Map<string, SunkMessage[]>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    // Replies to pipelined commands go out as separate small writes: without this, Nagle's
    // algorithm holds each back until the client's delayed ACK (40 ms), and the sink, not
    // Tessera, sets the pace (44 ms a mail on one connection instead of under 2 ms).
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    let buffer = '';
    let inData = false;
    let recipients: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply('220 sink ESMTP');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end === -1) return;
          const data = keepMessages ? buffer.slice(0, end).replace(/^\.\./gm, '.') : '';
          buffer = buffer.slice(end + 5);
          inData = false;
          for (const to of recipients) {
            received.set(to, (received.get(to) ?? 0) + 1);
            if (keepMessages) messages.set(to, [...(messages.get(to) ?? []), { receivedAt: Date.now(), data }]);
          }
          recipients = [];
          if (delayMs > 0) setTimeout(() => reply('250 queued'), delayMs);
          else reply('250 queued');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol === -1) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply('250-sink\r\n250-PIPELINING\r\n250 8BITMIME');
        else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RSET' || verb === 'NOOP') reply('250 ok');
        else if (verb === 'RCPT') {
          recipients.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('502 not implemented');
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    messages,
    total: () => [...received.values()].reduce((sum, n) => sum + n, 0),
    close: () =>
      new Promise((ok) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => ok());
      }),
  };
}
