import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@tessera/config';
import { EventStore, handleCommand, subjectOf } from '@tessera/event-store';
import {
  authorizationConfig,
  connectAs,
  ensureIdentityFiles,
  identityFileOf,
  natsAccessOf,
  provision,
} from '@tessera/nats-access';
import { createLogger } from '@tessera/service-kit';
import { connectAsIdentity, startNats, startTcpRelay, type TestNats, waitUntil } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { type FollowedKeys, followKeys } from './follow-keys.js';
import type { KeyCommand } from './key.js';
import { storedKeys } from './key-events.js';

const KEY = 'XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI';
const OTHER = 'Pkoq9FLgkhHyIwvNGvNgqQvNdQqyVpAfVGOF4kMJVqc';
const log = createLogger('follow-keys-test', 'silent');
// Long enough never to run here: what a test sees came from notices and reconnects alone.
const NO_PERIODIC_RESYNC = 3_600_000;

describe('following signing’s keys on a real nats-server, as the gateway identity', () => {
  let dir: string;
  let nats: TestNats;
  let signing: NatsConnection;
  let store: EventStore;
  const opened: Array<() => unknown> = [];

  const publish = (keyId: string, publicKey: string) =>
    decide({ type: 'PublishKey', keyId, algorithm: 'ed25519', publicKey, now: new Date() });
  const revoke = (keyId: string) => decide({ type: 'RevokeKey', keyId, reason: 'test', now: new Date() });
  const decide = (command: KeyCommand) => handleCommand(store, subjectOf('key', command.keyId), storedKeys, command);

  /** A gateway's NATS connection, as the service skeleton makes it (reconnecting), through `url`. */
  async function gatewayAt(url: string): Promise<FollowedKeys> {
    const config = loadConfig({
      TESSERA_NATS_URL: url,
      TESSERA_NATS_CREDENTIALS_FILE: identityFileOf(dir, 'gateway'),
    });
    const nc = await connectAs(natsAccessOf(config, 'gateway'), log);
    const keys = await followKeys(nc, { log, timeoutMs: 2_000, resyncIntervalMs: NO_PERIODIC_RESYNC });
    opened.push(
      () => nc.close(),
      () => keys.close(),
    );
    return keys;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-follow-keys-'));
    const identities = await ensureIdentityFiles(dir);
    nats = await startNats({ extraConfig: authorizationConfig(identities) });
    const admin = await connectAsIdentity(nats.url, 'admin', identityFileOf(dir, 'admin'));
    await provision(admin, { replicas: 1, longestRateLimitWindowMs: 3_600_000 });
    await admin.close();
    signing = await connectAsIdentity(nats.url, 'signing', identityFileOf(dir, 'signing'));
    store = new EventStore(signing);
    await publish('ed25519:0', KEY);
    await publish('ed25519:old', OTHER);
    await revoke('ed25519:old');
  });
  after(async () => {
    for (const close of opened.reverse()) await close();
    await signing?.close();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads every key the stream holds before it resolves, and is ready', async () => {
    const keys = await gatewayAt(nats.url);
    assert.deepEqual(keys.book.lookup('ed25519:0'), { status: 'active', publicKey: KEY });
    assert.deepEqual(keys.book.lookup('ed25519:old'), { status: 'revoked' });
    assert.equal(keys.book.isValid(KEY), true);
    assert.equal(keys.book.isValid(OTHER), false);
    assert.equal(keys.readiness.isReady(), true);
  });

  it('learns a key created later, and a revocation, from their notices, on every replica', async (t) => {
    const replicas = [await gatewayAt(nats.url), await gatewayAt(nats.url)];
    await publish('ed25519:live', OTHER);
    for (const keys of replicas) await waitUntil(() => keys.book.isValid(OTHER), 'the new key is valid');
    assert.deepEqual(replicas[0]?.book.lookup('ed25519:live'), { status: 'active', publicKey: OTHER });

    await revoke('ed25519:live');
    const tookMs = await Promise.all(
      replicas.map((keys) => waitUntil(() => keys.book.lookup('ed25519:live')?.status === 'revoked', 'revoked')),
    );
    t.diagnostic(`revocation seen after ${tookMs.join(' and ')} ms`);
    for (const keys of replicas) assert.equal(keys.book.isValid(OTHER), false);
  });

  it('reads again after a reconnect: a revocation made while it was cut off is applied', async () => {
    const relay = await startTcpRelay(nats.port);
    opened.push(() => relay.close());
    const keys = await gatewayAt(relay.url);
    await publish('ed25519:away', KEY.replace('X', 'Y'));
    await waitUntil(() => keys.book.lookup('ed25519:away')?.status === 'active', 'the key is learnt');

    relay.cut();
    await waitUntil(() => !keys.readiness.isReady(), 'not ready once disconnected');
    await revoke('ed25519:away'); // its notice cannot reach this gateway
    assert.equal(keys.book.lookup('ed25519:away')?.status, 'active', 'still the old view while cut off');
    relay.restore();
    await waitUntil(() => keys.readiness.isReady(), 'ready again after reading everything again');
    assert.deepEqual(keys.book.lookup('ed25519:away'), { status: 'revoked' });
  });

  it('refuses to start when it may not follow the key events (the notifier reads the stream, but may not hear of appends)', async () => {
    const config = loadConfig({
      TESSERA_NATS_URL: nats.url,
      TESSERA_NATS_CREDENTIALS_FILE: identityFileOf(dir, 'notifier'),
    });
    const nc = await connectAs(natsAccessOf(config, 'notifier'), log);
    opened.push(() => nc.close());
    await assert.rejects(followKeys(nc, { log, timeoutMs: 2_000 }), /Permissions Violation/i);
  });
});
