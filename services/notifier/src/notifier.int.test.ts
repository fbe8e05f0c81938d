import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@tessera/config';
import { connectNats, DataKeys, EventStore, openDataKeySource, subjectOf } from '@tessera/event-store';
import { provision } from '@tessera/nats-access';
import { createLogger, createMetrics } from '@tessera/service-kit';
import { createTemplates, SHIPPED_TEMPLATES_DIR } from '@tessera/templates';
import { pollUntil, startNats, startSmtpServer, type TestNats, type TestSmtpServer } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { deliveryProbes } from '../test-support/delivery-probes.js';
import { type FakeSmsProvider, startFakeSmsProvider } from '../test-support/fake-sms-provider.js';
import { type RequestedToken, requestToken, requestTokenAgain } from '../test-support/session-fixture.js';
import { deliveryCodec } from './delivery-events.js';
import { type RunningNotifier, startNotifier, TOKENS_DURABLE } from './notifier.js';
import { readNotifierSettings } from './settings.js';

const BASE_URL = 'https://id.example.org';

describe('the notifier on a real nats-server, SMTP listener and SMS provider double', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let smtp: TestSmtpServer;
  let sms: FakeSmsProvider;
  let store: EventStore;
  let dataKeys: DataKeys;
  let templatesDir: string;
  let notifier: RunningNotifier;
  let logOutput = '';
  const requested: RequestedToken[] = [];
  const metrics = createMetrics('notifier');

  const config = () =>
    loadConfig({
      TESSERA_NATS_URL: nats.url,
      TESSERA_SMTP_URL: smtp.url,
      TESSERA_PUBLIC_BASE_URL: BASE_URL,
      TESSERA_EMAIL_FROM: 'Tessera <noreply@id.example.org>',
      TESSERA_TEMPLATES_DIR: templatesDir,
      TESSERA_SMS_PROVIDER: 'twilio',
      TESSERA_SMS_URL: sms.url,
      TESSERA_SMS_USERNAME: 'AC0123',
      TESSERA_SMS_PASSWORD: 'auth-token',
      TESSERA_SMS_FROM: '+15005550006',
      TESSERA_NOTIFIER_CONCURRENCY: '4',
    });
  const log = createLogger(
    'notifier',
    'debug',
    new Writable({
      write(chunk, _encoding, callback) {
        logOutput += String(chunk);
        callback();
      },
    }),
  );
  const start = async () => {
    const settings = readNotifierSettings(config());
    const templates = createTemplates({ dir: templatesDir, defaultBrand: 'tessera' });
    notifier = await startNotifier({ config: config(), log, nc, metrics, ...settings, templates });
  };
  const request = async (options: Parameters<typeof requestToken>[1]) => {
    const token = await requestToken({ store, dataKeys }, options);
    requested.push(token);
    return token;
  };

  const probes = () => deliveryProbes({ nc, store }, { stream: 'TESSERA_SHORT', durable: TOKENS_DURABLE });
  const deliveryEvents = (deliveryId: string) => probes().deliveryEvents(deliveryId);
  const outcomeOf = (deliveryId: string) => probes().outcomeOf(deliveryId);
  const consumerIdle = () => probes().consumerIdle();

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'notifier-test' });
    await provision(nc);
    store = new EventStore(nc);
    dataKeys = new DataKeys(await openDataKeySource(nc));
    smtp = await startSmtpServer({ rejectRecipient: (address) => address.startsWith('rejected-') });
    sms = await startFakeSmsProvider();
    // An operator's directory: the shipped brand as the default, and a brand of their own.
    templatesDir = await mkdtemp(join(tmpdir(), 'tessera-notifier-templates-'));
    await symlink(join(SHIPPED_TEMPLATES_DIR, 'tessera'), join(templatesDir, 'tessera'));
    await mkdir(join(templatesDir, 'acme'));
    await writeFile(
      join(templatesDir, 'acme', 'verification_template.eml.j2'),
      'From: {{ from|safe }}\nTo: {{ to|safe }}\nMessage-ID: {{ messageid|safe }}\nSubject: Acme check\n\n' +
        'Acme: {{ link|safe }}\n',
    );
    // matrix-is-tester's brand: no headers at all.
    await mkdir(join(templatesDir, 'is-test'));
    await writeFile(join(templatesDir, 'is-test', 'verification_template.eml.j2'), '<<<{{ token }}>>>\n');
    await start();
  });
  after(async () => {
    await notifier?.stop();
    await nc?.close();
    await nats?.stop();
    await smtp?.close();
    await sms?.close();
    if (templatesDir) await rm(templatesDir, { recursive: true, force: true });
  });

  it('mails the token and a link with sid, client_secret and token, and records TokenSent on the delivery', async () => {
    const issued = await request({ medium: 'email', address: 'alice@example.org' });
    const mail = await smtp.waitForMessage((m) => m.to.includes('alice@example.org'));
    assert.equal(mail.from, 'noreply@id.example.org');
    assert.deepEqual(mail.to, ['alice@example.org']);
    assert.equal(mail.parsed.subject, 'Confirm your email address');
    const link = new URL(/https:\/\/id\.example\.org\/\S+/.exec(mail.parsed.text ?? '')?.[0] ?? '');
    assert.equal(link.pathname, '/_matrix/identity/api/v1/validate/email/submitToken');
    assert.deepEqual(Object.fromEntries(link.searchParams), {
      token: issued.token,
      client_secret: issued.clientSecret,
      sid: issued.sid,
    });
    assert.ok(mail.parsed.text?.includes(issued.token));
    assert.ok(mail.parsed.text?.includes(issued.clientIp), 'the requester IP is shown');
    assert.ok(typeof mail.parsed.html === 'string' && mail.parsed.html.includes(link.href.replace(/&/g, '&amp;')));

    const events = await outcomeOf(issued.deliveryId);
    assert.deepEqual(
      events.map((event) => event.type),
      ['DeliveryStarted', 'TokenSent'],
    );
    const [startedEvent, sentEvent] = events;
    assert.equal(
      startedEvent?.payload?.$case === 'deliveryStarted' && startedEvent.payload.value.source,
      `session.${issued.sid}`,
    );
    assert.equal(
      sentEvent?.payload?.$case === 'tokenSent' && sentEvent.payload.value.providerMessageId,
      mail.parsed.messageId,
    );
  });

  it('sends a headerless template as its rendered text, and records no Message-ID it does not carry', async () => {
    const issued = await request({ medium: 'email', address: 'is-test@example.org', brand: 'is-test' });
    const mail = await smtp.waitForMessage((m) => m.to.includes('is-test@example.org'));
    assert.equal(mail.raw.trim(), `<<<${issued.token}>>>`);
    const sent = (await outcomeOf(issued.deliveryId)).at(-1);
    assert.equal(sent?.payload?.$case, 'tokenSent');
    assert.equal(sent?.payload?.$case === 'tokenSent' && sent.payload.value.providerMessageId, '');
  });

  it('mails the address as typed (lower-cased) where case folding made another mailbox of it (ß → ss)', async () => {
    const issued = await request({
      medium: 'email',
      address: 'jürgen.strasse@example.de',
      clientLowercaseAddress: 'jürgen.straße@example.de',
    });
    const mail = await smtp.waitForMessage((m) => !!m.parsed.text?.includes(issued.token));
    assert.deepEqual(mail.to, ['jürgen.straße@example.de']);
    assert.equal((await outcomeOf(issued.deliveryId)).at(-1)?.type, 'TokenSent');
  });

  it('mails the new token of a resend, whose session started in an earlier decision', async () => {
    const first = await request({ medium: 'email', address: 'resend-grace@example.org' });
    await outcomeOf(first.deliveryId);
    const again = await requestTokenAgain({ store, dataKeys }, first);
    requested.push(again);
    const mail = await smtp.waitForMessage(
      (m) => m.to.includes(first.address) && !!m.parsed.text?.includes(again.token),
    );
    assert.ok(mail.parsed.text?.includes(`sid=${first.sid}`));
    assert.equal((await outcomeOf(again.deliveryId)).at(-1)?.type, 'TokenSent');
    assert.equal(smtp.messages.filter((m) => m.to.includes(first.address)).length, 2);
  });

  it("renders the brand the request named, and the default brand's template for an unknown one", async () => {
    const branded = await request({ medium: 'email', address: 'brand-acme@example.org', brand: 'acme' });
    const unknown = await request({ medium: 'email', address: 'brand-unknown@example.org', brand: 'nobody' });
    const acmeMail = await smtp.waitForMessage((m) => m.to.includes(branded.address));
    assert.equal(acmeMail.parsed.subject, 'Acme check');
    assert.ok(acmeMail.parsed.text?.includes(`sid=${branded.sid}`));
    assert.equal(
      (await smtp.waitForMessage((m) => m.to.includes(unknown.address))).parsed.subject,
      'Confirm your email address',
    );
  });

  it('records TokenSendFailed, refused, without the address, when the server rejects the recipient', async () => {
    const issued = await request({ medium: 'email', address: 'rejected-bob@example.org' });
    const events = await outcomeOf(issued.deliveryId);
    const failed = events.at(-1)?.payload;
    assert.equal(failed?.$case, 'tokenSendFailed');
    assert.ok(failed?.$case === 'tokenSendFailed');
    assert.equal(failed.value.refused, true);
    assert.match(failed.value.reason, /550/);
    assert.ok(!failed.value.reason.includes('rejected-bob'));
    assert.ok(smtp.messages.every((m) => !m.to.includes(issued.address)));
  });

  it("records a refused failure and sends nothing when the session's data key was erased", async () => {
    const issued = await request({ medium: 'email', address: 'erased-carol@example.org', erase: true });
    const stored = await pollUntil('the delivery is recorded', async () => {
      const { events, lastSeq } = await store.load(subjectOf('delivery', issued.deliveryId));
      return events.length > 0 ? { events, lastSeq } : undefined;
    });
    assert.deepEqual(
      stored.events.map((event) => event.type),
      ['DeliveryStarted', 'TokenSendFailed'],
    );
    const failed = stored.events[1]?.payload;
    assert.ok(failed?.$case === 'tokenSendFailed');
    assert.deepEqual(
      { reason: failed.value.reason, refused: failed.value.refused },
      { reason: 'erased', refused: true },
    );
    // Both events in one decision: the subject holds one message.
    const info = await (await nc.jetstreamManager()).streams.info('TESSERA_SHORT', {
      subjects_filter: subjectOf('delivery', issued.deliveryId),
    });
    assert.equal(info.state.subjects?.[subjectOf('delivery', issued.deliveryId)], 1);
    assert.ok(smtp.messages.every((m) => !m.to.includes(issued.address)));
  });

  it('sends an SMS session through a Twilio-compatible provider on loopback and records its sid', async () => {
    sms.answer({ status: 201, body: { sid: 'SMabc123', status: 'queued' } });
    const issued = await request({ medium: 'msisdn', address: '447700900123', country: 'GB' });
    const events = await outcomeOf(issued.deliveryId);
    const sent = events.at(-1)?.payload;
    assert.ok(sent?.$case === 'tokenSent');
    assert.equal(sent.value.providerMessageId, 'SMabc123');
    const form = new URLSearchParams(sms.requests.at(-1)?.body);
    assert.equal(sms.requests.at(-1)?.path, '/2010-04-01/Accounts/AC0123/Messages.json');
    assert.equal(form.get('To'), '+447700900123');
    assert.equal(form.get('From'), '+15005550006');
    assert.equal(form.get('Body'), `Your code is ${issued.token}`);
  });

  it('records an SMS the provider refuses as refused', async () => {
    sms.answer({ status: 400, body: { code: 21211, message: 'invalid number' } });
    const issued = await request({ medium: 'msisdn', address: '447700900999', country: 'GB' });
    const failed = (await outcomeOf(issued.deliveryId)).at(-1)?.payload;
    assert.ok(failed?.$case === 'tokenSendFailed');
    assert.equal(failed.value.refused, true);
    assert.match(failed.value.reason, /HTTP 400.*21211/);
    sms.answer({ status: 201, body: { sid: 'SM2' } });
  });

  it('takes over a delivery whose notifier let its lease run out, and sends it once, logging no failure', async () => {
    const deliveryId = `dlv-vanished-${Date.now()}`;
    const leaseEndsAt = new Date(Date.now() + 1_500);
    // A notifier took it on and died: its DeliveryStarted is there, with a lease and no outcome.
    const vanished = deliveryCodec.toStoredEvent({
      type: 'DeliveryStarted',
      data: { deliveryId, source: 'session.x', channel: 'email', attempt: 1, leaseEndsAt, at: new Date() },
    });
    await store.append(subjectOf('delivery', deliveryId), [vanished], { expectedSeq: 0, correlationId: 'vanished' });
    const logBefore = logOutput.length;
    const issued = await request({ medium: 'email', address: 'heidi@example.org', deliveryId });

    const mail = await smtp.waitForMessage((m) => m.to.includes('heidi@example.org'), 15_000);
    assert.ok(mail.parsed.text?.includes(issued.token));
    assert.ok(mail.receivedAt.getTime() >= leaseEndsAt.getTime(), 'sent while the lease still ran');
    const events = await outcomeOf(deliveryId);
    assert.deepEqual(
      events.map((event) => event.type),
      ['DeliveryStarted', 'DeliveryStarted', 'TokenSent'],
    );
    const takeover = events[1]?.payload;
    assert.ok(takeover?.$case === 'deliveryStarted');
    assert.equal(takeover.value.attempt, 2);
    assert.equal(smtp.messages.filter((m) => m.to.includes('heidi@example.org')).length, 1);
    const lines = logOutput
      .slice(logBefore)
      .split('\n')
      .filter((line) => line.includes(deliveryId));
    assert.ok(lines.some((line) => line.includes('delivery taken over')));
    assert.ok(lines.every((line) => !line.includes('"level":"error"') && !line.includes('already made')));
    assert.match(
      await metrics.registry.metrics(),
      /tessera_notifier_deliveries_taken_over_total\{service="notifier"\} 1\n/,
    );
  });

  it('sends nothing and records no delivery for a token imported with its session from another server', async () => {
    const imported = await request({ medium: 'email', address: 'imported@example.org', imported: true });
    const native = await request({ medium: 'email', address: 'native-after-imported@example.org' });
    // Appended after the imported one on the same stream: once it is delivered, the other was seen.
    assert.equal((await outcomeOf(native.deliveryId)).at(-1)?.type, 'TokenSent');
    await consumerIdle();
    assert.ok(!smtp.messages.some((mail) => mail.to.includes(imported.address)), 'no mail');
    assert.deepEqual(await deliveryEvents(imported.deliveryId), [], 'no delivery events');
  });

  it('sends nothing a second time when TokenIssued comes again', async () => {
    const issued = await request({ medium: 'email', address: 'dave@example.org' });
    await outcomeOf(issued.deliveryId);
    await consumerIdle();
    const mails = smtp.messages.length;
    const texts = sms.requests.length;
    const deliveries = await Promise.all(requested.map((r) => deliveryEvents(r.deliveryId)));

    // The same decision appended again, as a session service retrying after a lost ack might.
    await store.append(subjectOf('session', issued.sid), [issued.issued], {
      expectedSeq: (await store.load(subjectOf('session', issued.sid))).lastSeq,
      correlationId: 'again',
    });
    // And every TokenIssued of the stream delivered again: a new consumer replays them all.
    await notifier.stop();
    await (await nc.jetstreamManager()).consumers.delete('TESSERA_SHORT', TOKENS_DURABLE);
    await start();
    await consumerIdle();

    assert.equal(smtp.messages.length, mails, 'no second mail');
    assert.equal(sms.requests.length, texts, 'no second SMS');
    assert.deepEqual(await Promise.all(requested.map((r) => deliveryEvents(r.deliveryId))), deliveries);
    const metricsText = await metrics.registry.metrics();
    assert.match(metricsText, /tessera_notifier_deliveries_repeated_total\{service="notifier"\} ([1-9]\d*)/);
  });

  it('works on TESSERA_NOTIFIER_CONCURRENCY deliveries at once, as many as the server leaves unacknowledged', async () => {
    const info = await (await nc.jetstreamManager()).consumers.info('TESSERA_SHORT', TOKENS_DURABLE);
    assert.equal(info.config.max_ack_pending, 4);
  });

  it('counts messages sent and failed by channel, as validation messages', async () => {
    const text = await metrics.registry.metrics();
    const sent = (channel: string) =>
      new RegExp(
        `tessera_notifier_messages_sent_total\\{channel="${channel}",purpose="validation",service="notifier"\\} [1-9]`,
      );
    assert.match(text, sent('email'));
    assert.match(text, sent('sms'));
    assert.match(
      text,
      /tessera_notifier_messages_failed_total\{channel="email",purpose="validation",refused="true",service="notifier"\} [1-9]/,
    );
  });

  it('writes no address, token or client secret to the stream, to disk or to the log', async () => {
    const secrets = requested.flatMap((r) => [r.address, r.token, r.clientSecret, r.clientIp]);
    const jsm = await nc.jetstreamManager();
    const { state } = await jsm.streams.info('TESSERA_SHORT');
    const raw: Buffer[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage('TESSERA_SHORT', { seq });
      const headers = message.header;
      for (const key of headers?.keys() ?? []) raw.push(Buffer.from(`${key}: ${headers?.values(key).join(',')}`));
      raw.push(Buffer.from(message.data));
    }
    const streamBytes = Buffer.concat(raw);
    const entries = await readdir(nats.dataDir, { recursive: true, withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
    const diskBytes = Buffer.concat(await Promise.all(files.map((file) => readFile(file))));
    assert.ok(logOutput.includes('validation message sent'), 'the log was captured');
    for (const secret of secrets) {
      assert.ok(!streamBytes.includes(secret), `a stream message holds ${secret}`);
      assert.ok(!diskBytes.includes(secret), `the server's files hold ${secret}`);
      assert.ok(!logOutput.includes(secret), `the log holds ${secret}`);
    }
  });
});

describe('a send slower than the lease, on a real nats-server and a slow SMTP listener', () => {
  const LEASE_MS = 2_000;
  let nats: TestNats;
  let nc: NatsConnection;
  let smtp: TestSmtpServer;
  const notifiers: RunningNotifier[] = [];

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'notifier-lease-test' });
    await provision(nc);
    smtp = await startSmtpServer({ delayMs: 2.5 * LEASE_MS });
  });
  after(async () => {
    for (const notifier of notifiers) await notifier.stop();
    await nc?.close();
    await nats?.stop();
    await smtp?.close();
  });

  it('renews its lease while the send runs, so that another notifier sends nothing', async () => {
    const config = loadConfig({
      TESSERA_NATS_URL: nats.url,
      TESSERA_SMTP_URL: smtp.url,
      TESSERA_DELIVERY_LEASE_MS: String(LEASE_MS),
    });
    const log = createLogger('notifier', 'warn', new Writable({ write: (_chunk, _encoding, done) => done() }));
    const start = async (durable: string) => {
      const metrics = createMetrics('notifier');
      const templates = createTemplates({ defaultBrand: config.TESSERA_DEFAULT_BRAND });
      notifiers.push(
        await startNotifier({ config, log, nc, metrics, ...readNotifierSettings(config), templates, durable }),
      );
      return metrics;
    };
    const store = new EventStore(nc);
    await start('first');
    const issued = await requestToken(
      { store, dataKeys: new DataKeys(await openDataKeySource(nc)) },
      { medium: 'email', address: 'ivan@example.org' },
    );
    const subject = subjectOf('delivery', issued.deliveryId);
    await pollUntil('the first notifier takes it on', async () =>
      (await store.load(subject)).events.length > 0 ? true : undefined,
    );
    // A second notifier that sees the same TokenIssued (its own consumer, as a redelivery to
    // another replica would) while the first is still sending.
    const second = await start('second');
    await pollUntil(
      'the second notifier finds the delivery made',
      async () =>
        /tessera_notifier_deliveries_repeated_total\{service="notifier"\} 1\n/.test(await second.registry.metrics()) ||
        undefined,
      6 * LEASE_MS,
    );
    const types = (await store.load(subject)).events.map((event) => event.type);
    assert.equal(types[0], 'DeliveryStarted');
    assert.equal(types.at(-1), 'TokenSent');
    assert.ok(types.includes('DeliveryLeaseRenewed'), `no renewal in ${types.join(', ')}`);
    assert.equal(types.filter((type) => type === 'DeliveryStarted').length, 1, 'taken over while sending');
    assert.equal(smtp.messages.filter((m) => m.to.includes('ivan@example.org')).length, 1);
  });
});
