import { connect, type Socket } from 'node:net';

/**
 * Just enough of the NATS client protocol (CONNECT, SUB, PUB with a reply subject, MSG, PING) to
 * call the JetStream API from tests without a client library. Not for production use.
 */
export class RawNatsConnection {
  #buffer = Buffer.alloc(0);
  #waiting = new Map<string, (payload: string) => void>();
  #nextInbox = 0;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
  }

  static async open(host: string, port: number): Promise<RawNatsConnection> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const connection = new RawNatsConnection(socket);
    socket.write('CONNECT {"verbose":false,"pedantic":false,"protocol":1,"headers":false}\r\n');
    return connection;
  }

  /** Publishes `payload` to `subject` and resolves with the first reply. */
  request(subject: string, payload: string, timeoutMs = 5_000): Promise<string> {
    const inbox = `_INBOX.raw.${++this.#nextInbox}`;
    const sid = String(this.#nextInbox);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply on ${subject} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiting.set(sid, (reply) => {
        clearTimeout(timer);
        this.socket.write(`UNSUB ${sid}\r\n`);
        resolve(reply);
      });
      const body = Buffer.from(payload);
      this.socket.write(`SUB ${inbox} ${sid}\r\nPUB ${subject} ${inbox} ${body.length}\r\n`);
      this.socket.write(Buffer.concat([body, Buffer.from('\r\n')]));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #parse(): void {
    for (;;) {
      const eol = this.#buffer.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.#buffer.subarray(0, eol).toString();
      if (line.startsWith('MSG ')) {
        // MSG <subject> <sid> [reply-to] <#bytes>
        const parts = line.split(' ');
        const size = Number(parts.at(-1));
        if (this.#buffer.length < eol + 2 + size + 2) return; // the payload has not all arrived yet
        const payload = this.#buffer.subarray(eol + 2, eol + 2 + size).toString();
        this.#buffer = this.#buffer.subarray(eol + 2 + size + 2);
        this.#waiting.get(parts[2] ?? '')?.(payload);
        continue;
      }
      this.#buffer = this.#buffer.subarray(eol + 2);
      if (line === 'PING') this.socket.write('PONG\r\n');
      if (line.startsWith('-ERR')) this.socket.destroy(new Error(line));
    }
  }
}
