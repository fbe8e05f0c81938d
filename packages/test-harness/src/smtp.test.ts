import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';
import { sendMail } from './smtp-dialogue.js';

const message = (subject: string) =>
  [
    'From: Tessera <noreply@localhost>',
    'To: alice@example.org',
    `Subject: ${subject}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Your code is 123456.',
    '.a line starting with a dot',
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Your code is <b>123456</b>.</p>',
    '--b1--',
    '',
  ].join('\n');

describe('startSmtpServer', () => {
  let smtp: TestSmtpServer;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(() => smtp.close());

  it('records a message with its envelope, raw text and parsed subject, text, html and headers', async () => {
    smtp.clear();
    const outcome = await sendMail({
      host: smtp.host,
      port: smtp.port,
      from: 'noreply@localhost',
      to: ['alice@example.org'],
      message: message('Confirm your email'),
    });
    assert.equal(outcome.data?.code, 250);
    assert.equal(smtp.messages.length, 1);
    const [mail] = smtp.messages;
    assert.ok(mail);
    assert.equal(mail.from, 'noreply@localhost');
    assert.deepEqual(mail.to, ['alice@example.org']);
    assert.match(mail.raw, /^Subject: Confirm your email\r?$/m);
    assert.equal(mail.parsed.subject, 'Confirm your email');
    assert.equal(mail.parsed.text?.trim(), 'Your code is 123456.\n.a line starting with a dot');
    assert.equal(mail.parsed.html, '<p>Your code is <b>123456</b>.</p>');
    assert.equal(mail.parsed.headers.get('mime-version'), '1.0');
    assert.equal(mail.user, null);
    assert.equal(mail.secure, false);
  });

  it('offers neither AUTH nor STARTTLS by default, and its URL names host and port', async () => {
    const outcome = await sendMail({ host: smtp.host, port: smtp.port, from: 'a@localhost', to: [], message: '' });
    assert.doesNotMatch(outcome.ehlo.text, /AUTH|STARTTLS/);
    assert.equal(smtp.url, `smtp://127.0.0.1:${smtp.port}`);
  });

  it('waitForMessage resolves with a message that arrives later, and clear() forgets earlier ones', async () => {
    smtp.clear();
    assert.equal(smtp.messages.length, 0);
    const waiting = smtp.waitForMessage((m) => m.parsed.subject === 'later', 5_000);
    await sendMail({
      host: smtp.host,
      port: smtp.port,
      from: 'a@localhost',
      to: ['b@x.org'],
      message: message('later'),
    });
    assert.equal((await waiting).parsed.subject, 'later');
  });

  it('waitForMessage rejects when no matching message comes in time', async () => {
    await assert.rejects(
      smtp.waitForMessage((m) => m.parsed.subject === 'never', 50),
      /no matching mail within 50 ms/,
    );
  });
});

describe('startSmtpServer options', () => {
  const servers: TestSmtpServer[] = [];
  const start = async (options: Parameters<typeof startSmtpServer>[0]) => {
    const server = await startSmtpServer(options);
    servers.push(server);
    return server;
  };
  after(async () => {
    for (const server of servers) await server.close();
  });

  it('delayMs makes each DATA take that long before the 250', async () => {
    const smtp = await start({ delayMs: 150 });
    const started = performance.now();
    const outcome = await sendMail({
      host: smtp.host,
      port: smtp.port,
      from: 'a@localhost',
      to: ['b@x.org'],
      message: message('slow'),
    });
    assert.equal(outcome.data?.code, 250);
    assert.ok(performance.now() - started >= 150, 'answered before the delay');
    assert.equal(smtp.messages.length, 1);
  });

  it('rejectRecipient answers 550 for matching recipients and delivers to the others', async () => {
    const smtp = await start({ rejectRecipient: (address) => address.endsWith('@bounce.test') });
    const outcome = await sendMail({
      host: smtp.host,
      port: smtp.port,
      from: 'a@localhost',
      to: ['gone@bounce.test', 'ok@x.org'],
      message: message('partly'),
    });
    assert.deepEqual(
      outcome.rcptTo.map((r) => r.code),
      [550, 250],
    );
    assert.deepEqual((await smtp.waitForMessage()).to, ['ok@x.org']);
  });

  it('deferRecipient answers 451 while it says so, then takes the mail', async () => {
    let deferrals = 1;
    const smtp = await start({ deferRecipient: () => deferrals-- > 0 });
    const attempt = {
      host: smtp.host,
      port: smtp.port,
      from: 'a@localhost',
      to: ['b@x.org'],
      message: message('later'),
    };
    assert.equal((await sendMail(attempt)).rcptTo[0]?.code, 451);
    assert.equal(smtp.messages.length, 0);
    assert.equal((await sendMail(attempt)).data?.code, 250);
    assert.deepEqual((await smtp.waitForMessage()).to, ['b@x.org']);
  });

  it('with auth, refuses mail without AUTH or with a wrong password and takes it with the right one', async () => {
    const auth = { username: 'tessera', password: 's3cret' };
    const smtp = await start({ auth });
    const base = { host: smtp.host, port: smtp.port, from: 'a@localhost', to: ['b@x.org'], message: message('authed') };
    assert.match((await sendMail(base)).ehlo.text, /AUTH PLAIN LOGIN/);
    assert.equal((await sendMail(base)).mailFrom?.code, 530);
    assert.equal((await sendMail({ ...base, auth: { ...auth, password: 'wrong' } })).auth?.code, 535);
    assert.equal((await sendMail({ ...base, auth })).data?.code, 250);
    assert.equal(smtp.messages.length, 1);
    assert.equal(smtp.messages[0]?.user, 'tessera');
    assert.equal(smtp.url, `smtp://tessera:s3cret@127.0.0.1:${smtp.port}`);
  });

  it('with starttls, upgrades to TLS with a certificate for localhost signed by caPem', async () => {
    const smtp = await start({ starttls: true });
    assert.ok(smtp.caPem);
    const outcome = await sendMail({
      host: smtp.host,
      port: smtp.port,
      from: 'a@localhost',
      to: ['b@x.org'],
      message: message('over tls'),
      starttlsCa: smtp.caPem,
    });
    assert.equal(outcome.data?.code, 250);
    assert.equal((await smtp.waitForMessage()).secure, true);
  });
});
