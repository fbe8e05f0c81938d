import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectNats, DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { pollUntil, startNats, startSmtpServer, type TestNats, type TestSmtpServer } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { requestToken } from '../test-support/session-fixture.js';
import { TOKENS_DURABLE } from './notifier.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');

describe('the notifier process', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let smtp: TestSmtpServer;
  let child: ChildProcess;
  let stdout = '';

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'notifier-main-test' });
    await provision(nc);
    smtp = await startSmtpServer();
  });
  after(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await nc?.close();
    await nats?.stop();
    await smtp?.close();
  });

  it('becomes ready, mails a token, is not ready while its consumer or stream is gone, and stops cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        TESSERA_NATS_URL: nats.url,
        TESSERA_SMTP_URL: smtp.url,
        TESSERA_METRICS_LISTEN: '127.0.0.1:0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout?.on('data', (chunk) => {
      stdout += String(chunk);
    });
    const linesSaying = (text: string) => stdout.split('\n').filter((line) => line.includes(text)).length;
    const port = await pollUntil('the admin server listens', () => {
      const line = stdout.split('\n').find((l) => l.includes('admin server listening'));
      return line ? Number(JSON.parse(line).port) : undefined;
    });
    await pollUntil('/readyz answers 200', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
      return response?.status === 200 ? true : undefined;
    });

    const store = new EventStore(nc);
    const dataKeys = new DataKeys(await openDataKeySource(nc));
    const issued = await requestToken({ store, dataKeys }, { medium: 'email', address: 'frank@example.org' });
    const mail = await smtp.waitForMessage((m) => m.to.includes('frank@example.org'), 10_000);
    assert.ok(mail.parsed.text?.includes(issued.token));
    // Counted once the outcome is recorded, just after the mail went out.
    await pollUntil('/metrics counts the mail', async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return (
        /tessera_notifier_messages_sent_total\{channel="email",purpose="validation",service="notifier"\} 1\n/.test(
          metrics,
        ) || undefined
      );
    });

    // Its consumer deleted: not ready, said once, and ready again once it has made it again.
    const readyz = async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status;
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.delete('TESSERA_SHORT', TOKENS_DURABLE);
    // At once when a pull was waiting on the server (409), else after two missed heartbeats (~15 s).
    await pollUntil('/readyz answers 503', async () => ((await readyz()) === 503 ? true : undefined), 40_000);
    await pollUntil('/readyz answers 200 again', async () => ((await readyz()) === 200 ? true : undefined));
    assert.equal(linesSaying('consumer lost'), 1);
    await jsm.consumers.info('TESSERA_SHORT', TOKENS_DURABLE);

    // Its stream deleted: not ready until provisioning makes it again; the notifier never does.
    await jsm.streams.delete('TESSERA_SHORT');
    await pollUntil('/readyz answers 503', async () => ((await readyz()) === 503 ? true : undefined), 40_000);
    await pollUntil('a try to attach again fails', () => (linesSaying('cannot attach') > 0 ? true : undefined));
    await assert.rejects(jsm.streams.info('TESSERA_SHORT'), /stream not found/);
    assert.equal(await readyz(), 503);
    const said = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { failing?: string[] };
    assert.deepEqual(said.failing, ['consumer'], 'connected to NATS; its consumer is what fails');
    assert.equal(linesSaying('consumer lost'), 2);
    assert.equal(linesSaying('cannot attach'), 1, 'one line for the missing stream, not one per try');
    await provision(nc);
    await pollUntil('/readyz answers 200 again', async () => ((await readyz()) === 200 ? true : undefined), 20_000);
    const later = await requestToken({ store, dataKeys }, { medium: 'email', address: 'grace@example.org' });
    const laterMail = await smtp.waitForMessage((m) => m.to.includes('grace@example.org'), 10_000);
    assert.ok(laterMail.parsed.text?.includes(later.token));

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.ok(stdout.includes('"msg":"stopped"'));
  });
});
