import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { sendMail } from '../test-support/smtp-dialogue.js';
import { startMailCatcher } from './mail-catcher.js';

const MESSAGE = [
  'From: Tessera <noreply@localhost>',
  'To: alice@example.org',
  'Subject: Confirm your email address',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Your code is 123456.',
  '.a line that starts with a dot',
  '',
].join('\r\n');

describe('the mail catcher', () => {
  const base = mkdtempSync(join(tmpdir(), 'runner-mail-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('saves a mail sent over SMTP as <ISO time>-<n>.eml (0600, in a 0700 directory) and logs its file name only', async () => {
    const dir = join(base, 'data', 'mail');
    const log: string[] = [];
    const times = [new Date('2030-01-02T03:04:05.678Z'), new Date('2030-01-02T03:04:05.678Z')];
    const catcher = await startMailCatcher({ dir, log: (line) => log.push(line), now: () => times.shift() as Date });
    try {
      assert.match(catcher.url, /^smtp:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(catcher.dir, dir);
      const replies = await sendMail({
        host: '127.0.0.1',
        port: catcher.port,
        from: 'noreply@localhost',
        to: 'alice@example.org',
        message: MESSAGE,
      });
      assert.deepEqual(
        replies.map((reply) => reply.code),
        [220, 250, 250, 250, 354, 250, 221],
      );
      const ehlo = replies[1]?.text ?? '';
      assert.doesNotMatch(ehlo, /AUTH|STARTTLS/, 'no AUTH, no TLS: it is a loopback stand-in');
      assert.match(ehlo, /SIZE 10485760/);

      await sendMail({
        host: '127.0.0.1',
        port: catcher.port,
        from: 'a@localhost',
        to: 'b@example.org',
        message: MESSAGE,
      });
      const files = readdirSync(dir).sort();
      assert.deepEqual(files, ['2030-01-02T03:04:05.678Z-000001.eml', '2030-01-02T03:04:05.678Z-000002.eml']);
      const first = join(dir, files[0] as string);
      assert.equal(readFileSync(first, 'utf8'), MESSAGE, 'the message as sent, dot-stuffing undone');
      assert.equal(statSync(first).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const parsed = await simpleParser(readFileSync(first));
      assert.equal(parsed.subject, 'Confirm your email address');
      assert.match(parsed.text ?? '', /Your code is 123456/);

      assert.deepEqual(log, [
        `saved 2030-01-02T03:04:05.678Z-000001.eml (${MESSAGE.length} bytes)`,
        `saved 2030-01-02T03:04:05.678Z-000002.eml (${MESSAGE.length} bytes)`,
      ]);
      assert.ok(!log.join('\n').includes('example.org'), 'no recipient in the log');
    } finally {
      await catcher.stop();
    }
    await assert.rejects(
      sendMail({ host: '127.0.0.1', port: catcher.port, from: 'a@localhost', to: 'b@example.org', message: MESSAGE }),
      /ECONNREFUSED/,
      'stopped: nothing listens any more',
    );
  });

  it('refuses a message over the size limit and saves nothing', async () => {
    const dir = join(base, 'small');
    const catcher = await startMailCatcher({ dir, log: () => {}, maxBytes: 1_000 });
    try {
      const replies = await sendMail({
        host: '127.0.0.1',
        port: catcher.port,
        from: 'a@localhost',
        to: 'b@example.org',
        message: `Subject: big\r\n\r\n${'x'.repeat(76).concat('\r\n').repeat(50)}`,
      });
      assert.equal(replies.at(-1)?.code, 552);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      await catcher.stop();
    }
  });
});
