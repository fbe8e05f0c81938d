import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSmtpServer, type TestSmtpServer } from '@tessera/test-harness';
import { createSmtpMailer, type OutgoingMail } from './smtp-mailer.js';

const mail = (to: string): OutgoingMail => ({
  envelopeFrom: 'noreply@id.example.org',
  to,
  raw: `From: Tessera <noreply@id.example.org>\r\nTo: ${to}\r\nMessage-ID: <m1@id.example.org>\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n`,
  messageId: '<m1@id.example.org>',
});

describe('the SMTP mailer against the harness SMTP listener', () => {
  let tls: TestSmtpServer;
  before(async () => {
    tls = await startSmtpServer({ starttls: true, auth: { username: 'notifier', password: 'p@ss word' } });
  });
  after(() => tls?.close());

  it('upgrades with STARTTLS when offered, logs in with the URL credentials, and sends the raw message unchanged', async () => {
    const mailer = createSmtpMailer(tls.url, { ca: tls.caPem ?? undefined });
    try {
      const outcome = await mailer.send(mail('erin@example.org'));
      assert.deepEqual(outcome, { sent: true, providerMessageId: '<m1@id.example.org>' });
      const received = await tls.waitForMessage((m) => m.to.includes('erin@example.org'));
      assert.equal(received.secure, true);
      assert.equal(received.user, 'notifier');
      assert.equal(received.from, 'noreply@id.example.org');
      assert.equal(received.raw, mail('erin@example.org').raw, 'dot-stuffing undone, nothing added');
    } finally {
      mailer.close();
    }
  });

  it('speaks TLS from the first byte for an smtps:// URL', async () => {
    const smtps = await startSmtpServer({ implicitTls: true });
    const mailer = createSmtpMailer(smtps.url, { ca: smtps.caPem ?? undefined });
    try {
      assert.match(smtps.url, /^smtps:\/\//);
      const outcome = await mailer.send(mail('frank@example.org'));
      assert.equal(outcome.sent, true);
      const received = await smtps.waitForMessage((m) => m.to.includes('frank@example.org'));
      assert.equal(received.secure, true);
      assert.equal(received.raw, mail('frank@example.org').raw);
    } finally {
      mailer.close();
      await smtps.close();
    }
  });

  it('reports wrong credentials as refused (535)', async () => {
    const url = tls.url.replace('p%40ss%20word', 'wrong');
    const mailer = createSmtpMailer(url, { ca: tls.caPem ?? undefined });
    try {
      const outcome = await mailer.send(mail('erin@example.org'));
      assert.equal(outcome.sent, false);
      assert.ok(!outcome.sent && outcome.refused && /535/.test(outcome.reason));
    } finally {
      mailer.close();
    }
  });

  it('reports a server that cannot be reached as not refused', async () => {
    const gone = await startSmtpServer();
    await gone.close();
    const mailer = createSmtpMailer(gone.url);
    try {
      const outcome = await mailer.send(mail('erin@example.org'));
      assert.ok(!outcome.sent);
      assert.equal(outcome.refused, false);
      assert.match(outcome.reason, /could not be reached/);
    } finally {
      mailer.close();
    }
  });

  it('sends many mails at once over a few pooled connections', async () => {
    const plain = await startSmtpServer();
    const mailer = createSmtpMailer(plain.url, { maxConnections: 4 });
    try {
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => mailer.send(mail(`m${i}@example.org`))));
      assert.ok(outcomes.every((outcome) => outcome.sent));
      assert.equal(plain.messages.length, 40);
    } finally {
      mailer.close();
      await plain.close();
    }
  });
});
