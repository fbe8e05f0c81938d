import { chmodSync, mkdirSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { LineSink } from './log-prefix.js';

/** Larger messages get 552: no mail of ours comes near it, and a runaway sender cannot fill the disk. */
export const MAIL_MAX_BYTES = 10 * 1024 * 1024;

export interface MailCatcher {
  /** smtp://127.0.0.1:<port>, as TESSERA_SMTP_URL takes it. */
  readonly url: string;
  readonly port: number;
  /** Where each message is saved as <ISO time>-<n>.eml. */
  readonly dir: string;
  /** Stops listening; a connection still open is cut after closeTimeoutMs. */
  stop(): Promise<void>;
}

export interface MailCatcherOptions {
  dir: string;
  /** One line per saved message (its file name), and failures. */
  log: LineSink;
  /** Default 127.0.0.1: the catcher takes mail from anyone who reaches it, so only this machine may. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  maxBytes?: number;
  closeTimeoutMs?: number;
  /** The clock of the file names (tests). */
  now?: () => Date;
}

/**
 * The runner's stand-in for a mail server: an SMTP listener without AUTH or TLS that accepts
 * every message and saves it, as received, to `dir` (0700) as `<ISO time>-<n>.eml` (0600), so a
 * developer or an end-to-end test can open the mail and follow its link.
 */
export async function startMailCatcher(o: MailCatcherOptions): Promise<MailCatcher> {
  const { dir, log } = o;
  const host = o.host ?? '127.0.0.1';
  const maxBytes = o.maxBytes ?? MAIL_MAX_BYTES;
  const now = o.now ?? (() => new Date());
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The mails hold validation tokens: a directory made earlier by hand must not stay readable by others.
  chmodSync(dir, 0o700);
  let count = 0;

  const save = async (message: Buffer): Promise<string> => {
    count += 1;
    // The counter keeps names apart within one millisecond and sorts them in arrival order.
    const name = `${now().toISOString()}-${String(count).padStart(6, '0')}.eml`;
    // Written under another name first, so whoever watches the directory never reads half a mail.
    const temporary = join(dir, `.${name}.tmp`);
    try {
      await writeFile(temporary, message, { mode: 0o600, flag: 'wx' });
      await rename(temporary, join(dir, name));
    } catch (err) {
      await unlink(temporary).catch(() => {});
      throw err;
    }
    return name;
  };

  const server = new SMTPServer({
    logger: false,
    banner: 'Tessera local runner mail catcher',
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true, // no DNS lookups for loopback clients
    size: maxBytes,
    closeTimeout: o.closeTimeoutMs ?? 2_000,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      let answered = false;
      const answer = (err?: Error) => {
        if (answered) return;
        answered = true;
        callback(err ?? null);
      };
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= maxBytes) chunks.push(chunk); // past the limit the message is refused anyway
      });
      stream.once('error', answer);
      stream.once('end', () => {
        if (stream.sizeExceeded) {
          answer(withResponseCode(new Error(`message larger than ${maxBytes} bytes`), 552));
          return;
        }
        save(Buffer.concat(chunks)).then(
          // The file name only: the envelope and headers name the recipient, and a brand's
          // subject line may carry anything its template puts there.
          (name) => {
            log(`saved ${name} (${bytes} bytes)`);
            answer();
          },
          (err: Error) => {
            log(`could not save a message in ${dir}: ${err.message}`);
            answer(withResponseCode(new Error('cannot save the message now'), 451));
          },
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After start-up, errors are about one client's connection (reset, timeout): its sender retries.
  server.on('error', () => {});
  const { port } = server.server.address() as AddressInfo;
  const literal = host.includes(':') ? `[${host}]` : host;
  return {
    url: `smtp://${literal}:${port}`,
    port,
    dir,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function withResponseCode(err: Error, responseCode: number): Error {
  return Object.assign(err, { responseCode });
}
