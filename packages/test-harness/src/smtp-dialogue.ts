import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

export type SmtpReply = { code: number; text: string };

/**
 * A hand-driven SMTP client for tests (no mail library is installed): send a command, read its
 * reply (multi-line replies joined), upgrade with STARTTLS. Not for production use.
 */
export class SmtpDialogue {
  #buffer = '';
  #lines: string[] = [];
  #replies: SmtpReply[] = [];
  #waiting: ((reply: SmtpReply) => void) | null = null;
  #socket: Socket;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#listen();
  }

  /** Connects and reads the greeting. */
  static async open(host: string, port: number): Promise<{ dialogue: SmtpDialogue; greeting: SmtpReply }> {
    const socket = connectTcp({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const dialogue = new SmtpDialogue(socket);
    return { dialogue, greeting: await dialogue.#nextReply() };
  }

  command(line: string): Promise<SmtpReply> {
    this.#socket.write(`${line}\r\n`);
    return this.#nextReply();
  }

  /** Sends a message body after a 354, dot-stuffed and terminated, and reads the reply. */
  data(message: string): Promise<SmtpReply> {
    const body = message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.#socket.write(`${body}${body.endsWith('\r\n') ? '' : '\r\n'}.\r\n`);
    return this.#nextReply();
  }

  /** After a 220 to STARTTLS: continues over TLS, trusting `ca` for the name `servername`. */
  async startTls(ca: string, servername = 'localhost'): Promise<void> {
    this.#socket.removeAllListeners('data');
    const secure = connectTls({ socket: this.#socket, ca: [ca], servername });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.#socket = secure;
    this.#listen();
  }

  close(): void {
    this.#socket.destroy();
  }

  #listen(): void {
    this.#socket.setEncoding('utf8');
    this.#socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let eol = this.#buffer.indexOf('\r\n'); eol >= 0; eol = this.#buffer.indexOf('\r\n')) {
        const line = this.#buffer.slice(0, eol);
        this.#buffer = this.#buffer.slice(eol + 2);
        this.#lines.push(line.slice(4));
        if (line[3] === '-') continue; // "250-..." : more lines of this reply follow
        this.#deliver({ code: Number(line.slice(0, 3)), text: this.#lines.join('\n') });
        this.#lines = [];
      }
    });
  }

  #deliver(reply: SmtpReply): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    if (waiting) waiting(reply);
    else this.#replies.push(reply);
  }

  #nextReply(): Promise<SmtpReply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }
}

export interface MailAttempt {
  host: string;
  port: number;
  from: string;
  to: string[];
  message: string;
  auth?: { username: string; password: string };
  /** The CA to trust after STARTTLS; no STARTTLS when unset. */
  starttlsCa?: string;
}

/** The reply to each step of one mail transaction; later steps are missing once one fails. */
export interface MailOutcome {
  ehlo: SmtpReply;
  auth?: SmtpReply;
  mailFrom?: SmtpReply;
  rcptTo: SmtpReply[];
  data?: SmtpReply;
}

/** Runs a whole SMTP transaction and says how the server answered each step. */
export async function sendMail(attempt: MailAttempt): Promise<MailOutcome> {
  const { dialogue } = await SmtpDialogue.open(attempt.host, attempt.port);
  try {
    let ehlo = await dialogue.command('EHLO test.invalid');
    if (attempt.starttlsCa !== undefined) {
      const reply = await dialogue.command('STARTTLS');
      if (reply.code !== 220) throw new Error(`STARTTLS refused: ${reply.code} ${reply.text}`);
      await dialogue.startTls(attempt.starttlsCa);
      ehlo = await dialogue.command('EHLO test.invalid');
    }
    const outcome: MailOutcome = { ehlo, rcptTo: [] };
    if (attempt.auth !== undefined) {
      const { username, password } = attempt.auth;
      outcome.auth = await dialogue.command(
        `AUTH PLAIN ${Buffer.from(`\0${username}\0${password}`).toString('base64')}`,
      );
      if (outcome.auth.code !== 235) return outcome;
    }
    outcome.mailFrom = await dialogue.command(`MAIL FROM:<${attempt.from}>`);
    if (outcome.mailFrom.code !== 250) return outcome;
    for (const to of attempt.to) outcome.rcptTo.push(await dialogue.command(`RCPT TO:<${to}>`));
    if (!outcome.rcptTo.some((r) => r.code === 250)) return outcome;
    const go = await dialogue.command('DATA');
    if (go.code !== 354) return { ...outcome, data: go };
    outcome.data = await dialogue.data(attempt.message);
    await dialogue.command('QUIT');
    return outcome;
  } finally {
    dialogue.close();
  }
}
