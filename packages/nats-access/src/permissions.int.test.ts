import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DATA_KEY_BUCKET, EventStore, kvKeyOf, newEvent } from '@tessera/event-store';
import { RATE_LIMIT_BUCKET } from '@tessera/rate-limit';
import {
  appendProbe,
  connectAsIdentity,
  connectOutcome,
  consumeProbe,
  directGetBySeqProbe,
  directGetProbe,
  kvCreateProbe,
  kvGetProbe,
  kvPurgeProbe,
  messageDeleteProbe,
  type Outcome,
  outcomeOf,
  startNats,
  streamCreateProbe,
  streamDeleteProbe,
  streamInfoProbe,
  streamPurgeProbe,
  streamUpdateProbe,
  subscribeProbe,
  type TestNats,
} from '@tessera/test-harness';
import { AckPolicy, connect, type NatsConnection, nanos, StringCodec } from 'nats';
import { fromSeed } from 'nkeys.js';
import type { IdentityName, ServiceIdentity } from './identities.js';
import { ensureIdentityFiles, identityFileOf } from './nkey-files.js';
import { provision } from './provision.js';
import { authorizationConfig } from './server-config.js';

// The rules of issue 7 written out, not derived from the table they test.
const SERVICES: ServiceIdentity[] = ['signing', 'session', 'notifier', 'gateway', 'directory', 'invite', 'projector'];
const EVERYONE_BUT_ADMIN: ServiceIdentity[] = [...SERVICES, 'analytics'];
const APPENDS: Record<ServiceIdentity, string[]> = {
  signing: ['key'],
  session: ['session', 'account', 'terms'],
  notifier: ['delivery'],
  gateway: [],
  directory: ['assoc', 'pepper'],
  invite: ['invite', 'onbind', 'ephemeral_keys'],
  projector: [],
  analytics: [],
};
const AGGREGATE_TYPES = [
  'session',
  'delivery',
  'assoc',
  'invite',
  'onbind',
  'ephemeral_keys',
  'account',
  'terms',
  'key',
  'pepper',
];
/** Data keys: which aggregate types' keys each identity reads, and which it may create. */
const DATA_KEYS: Record<ServiceIdentity, { read: string[]; create: string[] }> = {
  signing: { read: [], create: [] },
  session: { read: ['session', 'account'], create: ['session', 'account'] },
  // Erasing an invite's mail key and an onbind call's key is a publish on their subjects (a purge).
  notifier: { read: ['session', 'invite', 'onbind'], create: ['invite', 'onbind'] },
  gateway: { read: [], create: [] },
  directory: { read: ['assoc'], create: ['assoc'] },
  invite: { read: ['invite', 'onbind'], create: ['invite', 'onbind'] },
  projector: { read: ['assoc'], create: [] },
  analytics: { read: [], create: [] },
};
const STREAMS = ['TESSERA_SHORT', 'TESSERA_EVENTS', `KV_${DATA_KEY_BUCKET}`, `KV_${RATE_LIMIT_BUCKET}`];

const sc = StringCodec();

describe('NATS identities and their permissions, on a real nats-server', () => {
  let dir: string;
  let nats: TestNats;
  const connections = new Map<IdentityName, NatsConnection>();
  const as = (identity: IdentityName) => {
    const nc = connections.get(identity);
    if (!nc) throw new Error(`not connected as ${identity}`);
    return nc;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-identities-'));
    const keys = await ensureIdentityFiles(dir);
    nats = await startNats({ extraConfig: authorizationConfig(keys) });
    for (const { identity, file } of keys) connections.set(identity, await connectAsIdentity(nats.url, identity, file));
    await provision(as('admin'), { replicas: 1, longestRateLimitWindowMs: 3_600_000 });
    // Something to read: an event on each stream, and a data key of each aggregate type.
    const js = as('admin').jetstream();
    await js.publish('tessera.session.s1', sc.encode('started'));
    await js.publish('tessera.key.ed25519:0', sc.encode('created'));
    const dataKeys = await js.views.kv(DATA_KEY_BUCKET, { bindOnly: true, allow_direct: true });
    for (const type of AGGREGATE_TYPES) await dataKeys.create(kvKeyOf(`${type}.a1`), sc.encode(`key of ${type}`));
  });
  after(async () => {
    for (const nc of connections.values()) await nc.close().catch(() => {});
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a connection without credentials, and one with a key it does not know', async () => {
    assert.equal(await connectOutcome(() => connect({ servers: nats.url, maxReconnectAttempts: 0 })), 'refused');
    const strangerDir = await mkdtemp(join(tmpdir(), 'tessera-stranger-'));
    try {
      const [file] = await ensureIdentityFiles(strangerDir, ['analytics']);
      assert.equal(await connectOutcome(() => connectAsIdentity(nats.url, 'analytics', file?.file ?? '')), 'refused');
    } finally {
      await rm(strangerDir, { recursive: true, force: true });
    }
  });

  it('lets each identity append to its own aggregates only', async () => {
    for (const identity of EVERYONE_BUT_ADMIN) {
      for (const type of AGGREGATE_TYPES) {
        const expected: Outcome = APPENDS[identity].includes(type) ? 'allowed' : 'refused';
        assert.equal(
          await appendProbe(as(identity), `tessera.${type}.probe-${identity}`),
          expected,
          `${identity} → ${type}`,
        );
      }
    }
  });

  it('lets a service load what it appended: the event store reads by direct get, as the identity may', async () => {
    const store = new EventStore(as('signing'));
    const subject = 'tessera.key.ed25519:loaded';
    const at = new Date();
    const created = newEvent(
      { $case: 'keyCreated', value: { keyId: 'ed25519:loaded', algorithm: 'ed25519', publicKey: 'cHVibGlj' } },
      at,
    );
    const revoked = newEvent({ $case: 'keyRevoked', value: { keyId: 'ed25519:loaded', reason: 'probe' } }, at);
    const first = await store.append(subject, [created], { expectedSeq: 0, correlationId: 'probe-1' });
    await store.append(subject, [revoked], { expectedSeq: first, correlationId: 'probe-2' });
    // The last decision by its subject (in the request subject), the one before by its sequence.
    const { events } = await store.load(subject);
    assert.deepEqual(
      events.map((event) => event.type),
      ['KeyCreated', 'KeyRevoked'],
    );
  });

  it('lets no identity but admin create, change, purge or delete a stream or bucket, or delete a message', async () => {
    for (const identity of EVERYONE_BUT_ADMIN) {
      const nc = as(identity);
      assert.equal(await streamCreateProbe(nc, `ROGUE_${identity}`, `rogue.${identity}`), 'refused', identity);
      for (const stream of STREAMS) {
        assert.equal(await streamUpdateProbe(nc, stream), 'refused', `${identity} updates ${stream}`);
        assert.equal(await streamPurgeProbe(nc, stream), 'refused', `${identity} purges ${stream}`);
        assert.equal(
          await streamPurgeProbe(nc, stream, 'tessera.session.s1'),
          'refused',
          `${identity} purges a subject`,
        );
        assert.equal(await streamDeleteProbe(nc, stream), 'refused', `${identity} deletes ${stream}`);
      }
      for (const stream of ['TESSERA_SHORT', 'TESSERA_EVENTS'])
        assert.equal(await messageDeleteProbe(nc, stream, 1), 'refused', `${identity} deletes a message of ${stream}`);
    }
    // The streams are still whole.
    const jsm = await as('admin').jetstreamManager();
    assert.equal((await jsm.streams.info('TESSERA_SHORT')).state.messages > 0, true);
  });

  it('keeps even admin from deleting or purging a message of the lasting stream', async () => {
    const jsm = await as('admin').jetstreamManager();
    await assert.rejects(jsm.streams.purge('TESSERA_EVENTS'), /purge not permitted/);
    await assert.rejects(jsm.streams.deleteMessage('TESSERA_EVENTS', 1), /delete not permitted|not permitted/);
    const config = (await jsm.streams.info('TESSERA_EVENTS')).config;
    assert.equal(config.deny_delete, true);
    assert.equal(config.deny_purge, true);
  });

  it('lets only the services that seal or open reach data keys, each for its own aggregate types', async () => {
    for (const identity of EVERYONE_BUT_ADMIN) {
      const nc = as(identity);
      const { read, create } = DATA_KEYS[identity];
      for (const type of AGGREGATE_TYPES) {
        const key = kvKeyOf(`${type}.a1`);
        assert.equal(
          await kvGetProbe(nc, DATA_KEY_BUCKET, key),
          read.includes(type) ? 'allowed' : 'refused',
          `${identity} reads ${type}`,
        );
        const fresh = kvKeyOf(`${type}.new-${identity}`);
        assert.equal(
          await kvCreateProbe(nc, DATA_KEY_BUCKET, fresh),
          create.includes(type) ? 'allowed' : 'refused',
          `${identity} creates ${type}`,
        );
      }
      // No reading of keys by sequence, which would name no aggregate type.
      assert.equal(
        await directGetBySeqProbe(nc, `KV_${DATA_KEY_BUCKET}`, 1),
        'refused',
        `${identity} reads by sequence`,
      );
      assert.equal(await subscribeProbe(nc, `$KV.${DATA_KEY_BUCKET}.>`), 'refused', `${identity} listens to new keys`);
    }
    // Only the services that erase may purge a key of the types they erase, and none a key of another type.
    assert.equal(await kvPurgeProbe(as('notifier'), DATA_KEY_BUCKET, kvKeyOf('invite.a1:mail')), 'allowed');
    assert.equal(await kvPurgeProbe(as('notifier'), DATA_KEY_BUCKET, kvKeyOf('onbind.a1')), 'allowed');
    assert.equal(await kvPurgeProbe(as('invite'), DATA_KEY_BUCKET, kvKeyOf('invite.a2')), 'allowed');
    assert.equal(await kvPurgeProbe(as('notifier'), DATA_KEY_BUCKET, kvKeyOf('session.a1')), 'refused');
    assert.equal(await kvPurgeProbe(as('directory'), DATA_KEY_BUCKET, kvKeyOf('session.a1')), 'refused');
    assert.equal(await kvPurgeProbe(as('invite'), DATA_KEY_BUCKET, kvKeyOf('assoc.a1')), 'refused');
    assert.equal(await kvPurgeProbe(as('projector'), DATA_KEY_BUCKET, kvKeyOf('assoc.a1')), 'refused');
  });

  it('lets analytics read the lasting stream, by direct get and through its own consumer, and nothing else', async () => {
    const nc = as('analytics');
    assert.equal(await streamInfoProbe(nc, 'TESSERA_EVENTS'), 'allowed');
    assert.equal(await directGetProbe(nc, 'TESSERA_EVENTS', 'tessera.key.ed25519:0'), 'allowed');
    assert.equal(await directGetBySeqProbe(nc, 'TESSERA_EVENTS', 1), 'allowed');
    assert.equal(await consumeProbe(nc, 'TESSERA_EVENTS', 'analytics', 'tessera.>'), 'allowed');
    assert.equal(await consumeProbe(nc, 'TESSERA_EVENTS', 'projector', 'tessera.>'), 'refused', "another's consumer");
    for (const probe of [
      () => streamInfoProbe(nc, 'TESSERA_SHORT'),
      () => directGetProbe(nc, 'TESSERA_SHORT', 'tessera.session.s1'),
      () => directGetBySeqProbe(nc, 'TESSERA_SHORT', 1),
      () => consumeProbe(nc, 'TESSERA_SHORT', 'analytics', 'tessera.session.>'),
      () => streamInfoProbe(nc, `KV_${DATA_KEY_BUCKET}`),
      () => kvGetProbe(nc, RATE_LIMIT_BUCKET, 'ip.x'),
      () => subscribeProbe(nc, 'tessera.>'),
      () => subscribeProbe(nc, '>'),
    ])
      assert.equal(await probe(), 'refused');
  });

  it('keeps each identity to its own durable consumers and its own replies', async () => {
    assert.equal(
      await consumeProbe(as('notifier'), 'TESSERA_SHORT', 'notifier-tokens', 'tessera.session.>'),
      'allowed',
    );
    assert.equal(await consumeProbe(as('notifier'), 'TESSERA_SHORT', 'notifier-x', 'tessera.session.>'), 'refused');
    assert.equal(await consumeProbe(as('session'), 'TESSERA_SHORT', 'notifier-tokens', 'tessera.session.>'), 'refused');
    // Its own durable it may also delete (to create it again at a sequence); another's not.
    assert.equal(await consumeProbe(as('projector'), 'TESSERA_EVENTS', 'projector', 'tessera.>'), 'allowed');
    const deleteProbe = (identity: ServiceIdentity, durable: string) =>
      outcomeOf(async () => (await as(identity).jetstreamManager()).consumers.delete('TESSERA_EVENTS', durable));
    assert.equal(await deleteProbe('analytics', 'projector'), 'refused', 'analytics deletes the projector consumer');
    assert.equal(
      await deleteProbe('projector', 'analytics'),
      'refused',
      'the projector deletes the analytics consumer',
    );
    assert.equal(await deleteProbe('projector', 'projector'), 'allowed');
    for (const identity of EVERYONE_BUT_ADMIN) {
      const other = identity === 'session' ? 'notifier' : 'session';
      assert.equal(
        await subscribeProbe(as(identity), `_INBOX_${other}.>`),
        'refused',
        `${identity} overhears ${other}`,
      );
      assert.equal(
        await subscribeProbe(as(identity), '_INBOX.>'),
        'refused',
        `${identity} overhears the default inbox`,
      );
    }
  });

  it('gives the gateway the rate-limit bucket and, of the event store, signing’s key events and live account and terms appends only', async () => {
    const nc = as('gateway');
    assert.equal(await kvCreateProbe(nc, RATE_LIMIT_BUCKET, 'ip.probe'), 'allowed');
    assert.equal(await kvGetProbe(nc, RATE_LIMIT_BUCKET, 'ip.probe'), 'allowed');
    // The public keys it answers pubkey and isvalid with: live, listed, and each key's last decision.
    assert.equal(await subscribeProbe(nc, 'tessera.key.>'), 'allowed');
    assert.equal(await streamInfoProbe(nc, 'TESSERA_EVENTS'), 'allowed');
    assert.equal(await directGetProbe(nc, 'TESSERA_EVENTS', 'tessera.key.ed25519:0'), 'allowed');
    // Account and terms appends, live only: they drop its cached token checks.
    assert.equal(await subscribeProbe(nc, 'tessera.account.>'), 'allowed');
    assert.equal(await subscribeProbe(nc, 'tessera.terms.>'), 'allowed');
    assert.equal(await directGetProbe(nc, 'TESSERA_EVENTS', 'tessera.account.a1'), 'refused');
    // Nothing else: no other aggregate, nothing by sequence, no short-lived stream, no appends.
    for (const type of AGGREGATE_TYPES.filter((name) => !['key', 'account', 'terms'].includes(name)))
      assert.equal(await subscribeProbe(nc, `tessera.${type}.>`), 'refused', `watch ${type}`);
    assert.equal(await directGetProbe(nc, 'TESSERA_EVENTS', 'tessera.assoc.a1'), 'refused');
    assert.equal(await directGetBySeqProbe(nc, 'TESSERA_EVENTS', 1), 'refused');
    assert.equal(await streamInfoProbe(nc, 'TESSERA_SHORT'), 'refused');
    assert.equal(await directGetProbe(nc, 'TESSERA_SHORT', 'tessera.session.s1'), 'refused');
    assert.equal(await appendProbe(nc, 'tessera.key.ed25519:gateway'), 'refused');
    for (const identity of SERVICES.filter((name) => name !== 'gateway'))
      assert.equal(await kvCreateProbe(as(identity), RATE_LIMIT_BUCKET, `ip.${identity}`), 'refused', identity);
  });

  it('lets signing follow its key events as they are appended (revocations while it runs), and no other type', async () => {
    const nc = as('signing');
    assert.equal(await subscribeProbe(nc, 'tessera.key.>'), 'allowed');
    assert.equal(await directGetProbe(nc, 'TESSERA_EVENTS', 'tessera.key.ed25519:0'), 'allowed');
    for (const type of AGGREGATE_TYPES.filter((name) => name !== 'key'))
      assert.equal(await subscribeProbe(nc, `tessera.${type}.>`), 'refused', `watch ${type}`);
    assert.equal(await subscribeProbe(nc, 'tessera.>'), 'refused');
    // Only signing and the gateway hear key events as they are appended.
    for (const identity of EVERYONE_BUT_ADMIN.filter((name) => name !== 'signing' && name !== 'gateway'))
      assert.equal(await subscribeProbe(as(identity), 'tessera.key.>'), 'refused', identity);
  });

  it('lets session follow deliveries, accounts and terms as they are appended, and nobody else the sessions', async () => {
    for (const subject of ['tessera.delivery.>', 'tessera.account.>', 'tessera.terms.>'])
      assert.equal(await subscribeProbe(as('session'), subject), 'allowed', subject);
    for (const identity of EVERYONE_BUT_ADMIN)
      assert.equal(await subscribeProbe(as(identity), 'tessera.session.>'), 'refused', identity);
  });

  it('lets the projector follow binding keys through its own consumer, filtered to assoc keys, and nobody else', async () => {
    const stream = `KV_${DATA_KEY_BUCKET}`;
    const assocKeys = `$KV.${DATA_KEY_BUCKET}.assoc.>`;
    /** Creates the consumer `name` (filter, or none) and takes one message from it: its subject. */
    const followProbe = async (identity: ServiceIdentity, name: string, filter?: string) => {
      let subject: string | undefined;
      const outcome = await outcomeOf(async () => {
        const nc = as(identity);
        const jsm = await nc.jetstreamManager({ checkAPI: false });
        await jsm.consumers.add(stream, {
          name,
          ack_policy: AckPolicy.None,
          inactive_threshold: nanos(60_000),
          ...(filter !== undefined && { filter_subject: filter }),
        });
        subject = (await (await nc.jetstream().consumers.get(stream, name)).next({ expires: 1_000 }))?.subject;
      });
      return { outcome, subject };
    };
    const projector = await followProbe('projector', 'projector-assoc-keys', assocKeys);
    assert.equal(projector.outcome, 'allowed');
    assert.equal(projector.subject, `$KV.${DATA_KEY_BUCKET}.${kvKeyOf('assoc.a1')}`, 'the assoc key, nothing else');
    const deleteProbe = (identity: ServiceIdentity) =>
      outcomeOf(async () =>
        (await as(identity).jetstreamManager({ checkAPI: false })).consumers.delete(stream, 'projector-assoc-keys'),
      );
    assert.equal(await deleteProbe('directory'), 'refused', 'the directory deletes the projector key follower');
    assert.equal(await deleteProbe('projector'), 'allowed');
    // Not with another filter or none (every type's keys), nor under another name.
    for (const filter of [`$KV.${DATA_KEY_BUCKET}.session.>`, `$KV.${DATA_KEY_BUCKET}.>`, undefined])
      assert.equal((await followProbe('projector', 'projector-assoc-keys', filter)).outcome, 'refused', String(filter));
    assert.equal((await followProbe('projector', 'projector-keys', assocKeys)).outcome, 'refused', 'another name');
    for (const identity of EVERYONE_BUT_ADMIN.filter((name) => name !== 'projector'))
      assert.equal(
        (await followProbe(identity, 'projector-assoc-keys', assocKeys)).outcome,
        'refused',
        `${identity} follows binding keys`,
      );
  });

  it('keeps seed files private and stable', async () => {
    const again = await ensureIdentityFiles(dir);
    for (const { identity, file, publicKey } of again) {
      assert.equal(statSync(file).mode & 0o777, 0o600, file);
      assert.equal(file, identityFileOf(dir, identity));
      assert.equal(fromSeed(new TextEncoder().encode(readFileSync(file, 'utf8').trim())).getPublicKey(), publicKey);
    }
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
});
