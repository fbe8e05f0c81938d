import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventStore, handleCommand, subjectOf } from '@tessera/event-store';
import { storedKeys } from '@tessera/signing-keys';
import { connectAsIdentity, startNats, type TestNats } from '@tessera/test-harness';
import { tessera } from '../test-support/run-tessera.js';

describe('tessera (the operators’ command)', () => {
  let dir: string;
  let nats: TestNats;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-'));
    const made = await tessera(['nats-identities', join(dir, 'identities')]);
    assert.equal(made.code, 0, made.err);
    // The printed block is the server's whole authorization: it admits only these keys.
    nats = await startNats({ extraConfig: made.out });
  });
  after(async () => {
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const credentials = (identity: string) => join(dir, 'identities', `${identity}.nk`);

  it('makes one private seed per identity, keeps them on a second run, and prints the authorization they need', async () => {
    const seed = await readFile(credentials('notifier'), 'utf8');
    assert.match(seed.trim(), /^SU[A-Z2-7]{56}$/);
    assert.equal((await stat(credentials('notifier'))).mode & 0o777, 0o600);
    const again = await tessera(['nats-identities', join(dir, 'identities')]);
    assert.equal(again.code, 0);
    assert.equal(await readFile(credentials('notifier'), 'utf8'), seed, 'kept');
    assert.equal((again.out.match(/nkey: "U[A-Z2-7]{55}"/g) ?? []).length, 9);
    assert.match(again.out, /# notifier\n.*permissions/);
    assert.doesNotMatch(again.out, /SU[A-Z2-7]{56}/, 'no seed is printed');
  });

  it('provisions as admin, then finds everything as it should be', async () => {
    const env = { TESSERA_NATS_URL: nats.url, TESSERA_NATS_CREDENTIALS_FILE: credentials('admin') };
    const first = await tessera(['provision'], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /stream +TESSERA_SHORT +created/);
    assert.match(first.out, /stream +TESSERA_EVENTS +created/);
    assert.match(first.out, /bucket +tessera_data_keys +created/);
    assert.match(first.out, /bucket +tessera_rate_limits +created/);
    const second = await tessera(['provision'], env);
    assert.equal(second.code, 0, second.err);
    assert.equal((second.out.match(/unchanged/g) ?? []).length, 4);
    const longer = await tessera(['provision'], { ...env, TESSERA_RATE_LIMIT_IP: '60/172800s' });
    assert.match(longer.out, /bucket +tessera_rate_limits +updated/);
  });

  it('cannot provision with a service’s credentials, nor without any', async () => {
    const asGateway = await tessera(['provision'], {
      TESSERA_NATS_URL: nats.url,
      TESSERA_NATS_CREDENTIALS_FILE: credentials('gateway'),
    });
    assert.equal(asGateway.code, 1);
    assert.match(asGateway.err, /Permissions Violation.*: provisioning needs the admin identity/);
    const anonymous = await tessera(['provision'], { TESSERA_NATS_URL: nats.url });
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.err, /Authorization Violation/);
  });

  it('names the setting or the usage that is wrong', async () => {
    const noUrl = await tessera(['provision'], {});
    assert.equal(noUrl.code, 64);
    assert.match(noUrl.err, /TESSERA_NATS_URL/);
    const badCredentials = await tessera(['provision'], {
      TESSERA_NATS_URL: nats.url,
      TESSERA_NATS_CREDENTIALS_FILE: join(dir, 'missing.nk'),
    });
    assert.equal(badCredentials.code, 78);
    assert.match(badCredentials.err, /TESSERA_NATS_CREDENTIALS_FILE: cannot read/);
    assert.equal((await tessera(['frobnicate'])).code, 64);
    assert.equal((await tessera([])).code, 64);
    assert.equal((await tessera(['nats-identities'])).code, 64);
    assert.match((await tessera(['help'])).out, /provision/);
  });

  describe('keys revoke', () => {
    const KEY_ID = 'ed25519:7';
    const signingEnv = () => ({ TESSERA_NATS_URL: nats.url, TESSERA_NATS_CREDENTIALS_FILE: credentials('signing') });
    let store: EventStore;
    let close: () => Promise<void>;
    before(async () => {
      const admin = await tessera(['provision'], {
        TESSERA_NATS_URL: nats.url,
        TESSERA_NATS_CREDENTIALS_FILE: credentials('admin'),
      });
      assert.equal(admin.code, 0, admin.err);
      // A key published as the signing service does at start.
      const nc = await connectAsIdentity(nats.url, 'signing', credentials('signing'));
      close = () => nc.close();
      store = new EventStore(nc);
      await handleCommand(store, subjectOf('key', KEY_ID), storedKeys, {
        type: 'PublishKey',
        keyId: KEY_ID,
        algorithm: 'ed25519',
        publicKey: 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI',
        now: new Date(),
      });
    });
    after(() => close?.());

    it('appends KeyRevoked with the reason through the key decider, once, as the signing identity', async () => {
      const revoked = await tessera(['keys', 'revoke', KEY_ID, '--reason', 'seed leaked'], signingEnv());
      assert.equal(revoked.code, 0, revoked.err);
      assert.match(revoked.out, /revoked ed25519:7 .*stream sequence \d+/);
      assert.match(revoked.out, /signing service stops signing with it/);
      assert.match(revoked.out, /nothing needs restarting/);
      const { events } = await store.load(subjectOf('key', KEY_ID));
      assert.deepEqual(
        events.map((event) => event.type),
        ['KeyCreated', 'KeyRevoked'],
      );
      const last = events.at(-1)?.payload;
      assert.equal(last?.$case, 'keyRevoked');
      assert.deepEqual(last?.$case === 'keyRevoked' && last.value, { keyId: KEY_ID, reason: 'seed leaked' });

      const again = await tessera(['keys', 'revoke', KEY_ID, '--reason=again'], signingEnv());
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /revoked already.*nothing appended/);
      assert.equal((await store.load(subjectOf('key', KEY_ID))).events.length, 2);
    });

    it('refuses a key id the stream has never seen, and appends nothing', async () => {
      const unknown = await tessera(['keys', 'revoke', 'ed25519:404', '--reason', 'x'], signingEnv());
      assert.equal(unknown.code, 1);
      assert.match(unknown.err, /ed25519:404: no such key/);
      assert.equal((await store.load(subjectOf('key', 'ed25519:404'))).lastSeq, 0);
    });

    it('cannot revoke with another identity’s credentials', async () => {
      const asGateway = await tessera(['keys', 'revoke', KEY_ID, '--reason', 'x'], {
        TESSERA_NATS_URL: nats.url,
        TESSERA_NATS_CREDENTIALS_FILE: credentials('gateway'),
      });
      assert.equal(asGateway.code, 1);
      assert.match(asGateway.err, /Permissions Violation/);
    });

    it('names what is wrong with the command line', async () => {
      for (const argv of [
        ['keys'],
        ['keys', 'list'],
        ['keys', 'revoke'],
        ['keys', 'revoke', KEY_ID],
        ['keys', 'revoke', KEY_ID, '--reason', ' '],
        ['keys', 'revoke', KEY_ID, '--reason', 'two\nlines'],
        ['keys', 'revoke', 'ed25519:a.b', '--reason', 'x'],
        ['keys', 'revoke', KEY_ID, '--reason', 'x', '--force'],
      ]) {
        const result = await tessera(argv, signingEnv());
        assert.equal(result.code, 64, argv.join(' '));
        assert.match(result.err, /usage: tessera/, argv.join(' '));
      }
    });
  });
  describe('invite revoke', () => {
    let admin: Server;
    const requests: { path: string; authorization: string | undefined; body: unknown }[] = [];
    before(async () => {
      admin = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ revoked: body.token === undefined ? 2 : 1 }));
        });
      });
      await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    });
    after(() => new Promise<void>((resolve) => admin.close(() => resolve())));
    const listen = () => `127.0.0.1:${(admin.address() as AddressInfo).port}`;

    it('revokes by token through TESSERA_INVITE_ADMIN_LISTEN, with the token of TESSERA_INVITE_ADMIN_TOKEN_FILE', async () => {
      const tokenFile = join(dir, 'invite-admin.token');
      await writeFile(tokenFile, 'an-admin-token-of-some-length\n');
      const result = await tessera(['invite', 'revoke', '--token', 'T0KEN'], {
        TESSERA_INVITE_ADMIN_LISTEN: listen(),
        TESSERA_INVITE_ADMIN_TOKEN_FILE: tokenFile,
      });
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /^revoked 1 pending invite:/);
      assert.deepEqual(requests.at(-1), {
        path: '/_tessera/invite/v1/revoke',
        authorization: 'Bearer an-admin-token-of-some-length',
        body: { token: 'T0KEN' },
      });
    });

    it("revokes an address's invites through the URL the local runner recorded for invite", async () => {
      const dataDir = join(dir, 'runner-data');
      await mkdir(join(dataDir, 'run'), { recursive: true });
      const state = { status: 'ready', services: { invite: { adminUrl: `http://${listen()}` } } };
      await writeFile(join(dataDir, 'run', 'state.json'), JSON.stringify(state));
      const result = await tessera(['invite', 'revoke', 'email', 'someone@example.org'], { TESSERA_DATA_DIR: dataDir });
      assert.equal(result.code, 0, result.err);
      assert.match(result.out, /^revoked 2 pending invites:/);
      assert.deepEqual(requests.at(-1)?.body, { medium: 'email', address: 'someone@example.org' });
    });

    it('names what is wrong with the command line', async () => {
      for (const argv of [
        ['invite'],
        ['invite', 'list'],
        ['invite', 'revoke'],
        ['invite', 'revoke', 'email'],
        ['invite', 'revoke', '--token'],
        ['invite', 'revoke', '--token', 'T', 'email', 'a@b.c'],
        ['invite', 'revoke', '--force', 'email', 'a@b.c'],
      ]) {
        const result = await tessera(argv, { TESSERA_INVITE_ADMIN_LISTEN: listen() });
        assert.equal(result.code, 64, argv.join(' '));
        assert.match(result.err, /usage: tessera/, argv.join(' '));
      }
    });
  });
});
