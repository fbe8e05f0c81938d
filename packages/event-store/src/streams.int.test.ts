import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startNats, type TestNats } from '@tessera/test-harness';
import { DiscardPolicy, type JetStreamManager, type NatsConnection, nanos, StorageType } from 'nats';
import { connectNats } from './connect.js';
import { ensureStreams } from './streams.js';

const DAY_NS = nanos(86_400_000);

describe('ensureStreams', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'streams-test' });
    jsm = await nc.jetstreamManager();
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('creates both streams, then leaves them as they are, then updates a changed max age', async () => {
    assert.deepEqual(await ensureStreams(jsm), [
      { name: 'TESSERA_SHORT', action: 'created' },
      { name: 'TESSERA_EVENTS', action: 'created' },
    ]);
    assert.deepEqual(
      (await ensureStreams(jsm)).map((s) => s.action),
      ['unchanged', 'unchanged'],
    );
    assert.deepEqual(await ensureStreams(jsm, { shortLivedMaxAgeDays: 3 }), [
      { name: 'TESSERA_SHORT', action: 'updated' },
      { name: 'TESSERA_EVENTS', action: 'unchanged' },
    ]);
    const short = (await jsm.streams.info('TESSERA_SHORT')).config;
    assert.equal(short.max_age, 3 * DAY_NS);
  });

  it('configures file storage, direct get, a two-minute duplicate window, and no age limit for lasting facts', async () => {
    await ensureStreams(jsm);
    const short = (await jsm.streams.info('TESSERA_SHORT')).config;
    const lasting = (await jsm.streams.info('TESSERA_EVENTS')).config;
    assert.deepEqual(short.subjects, ['tessera.session.>', 'tessera.delivery.>']);
    assert.equal(short.max_age, 7 * DAY_NS);
    assert.deepEqual(lasting.subjects.sort(), [
      'tessera.account.>',
      'tessera.assoc.>',
      'tessera.ephemeral_keys.>',
      'tessera.invite.>',
      'tessera.key.>',
      'tessera.onbind.>',
      'tessera.onbind_delivery.>',
      'tessera.pepper.>',
      'tessera.terms.>',
    ]);
    assert.equal(lasting.max_age, 0);
    for (const config of [short, lasting]) {
      assert.equal(config.storage, StorageType.File);
      assert.equal(config.allow_direct, true);
      assert.equal(config.duplicate_window, nanos(120_000));
      assert.equal(config.discard, DiscardPolicy.Old);
      assert.equal(config.num_replicas, 1);
    }
  });

  it('lets nobody delete or purge a message of the lasting stream; the short-lived one ages out', async () => {
    await ensureStreams(jsm);
    const lasting = (await jsm.streams.info('TESSERA_EVENTS')).config;
    assert.equal(lasting.deny_delete, true);
    assert.equal(lasting.deny_purge, true);
    const ack = await nc.jetstream().publish('tessera.key.deny-test', new Uint8Array([1]));
    await assert.rejects(jsm.streams.deleteMessage('TESSERA_EVENTS', ack.seq), /not permitted/);
    await assert.rejects(jsm.streams.purge('TESSERA_EVENTS'), /not permitted/);
    const short = (await jsm.streams.info('TESSERA_SHORT')).config;
    assert.equal(short.deny_delete ?? false, false);
  });

  it('puts back a subject someone removed', async () => {
    await ensureStreams(jsm);
    await jsm.streams.update('TESSERA_EVENTS', { subjects: ['tessera.key.>'] });
    assert.equal((await ensureStreams(jsm))[1]?.action, 'updated');
    assert.equal((await jsm.streams.info('TESSERA_EVENTS')).config.subjects.length, 9);
  });
});
