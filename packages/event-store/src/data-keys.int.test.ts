import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type { JetStreamManager } from 'nats';
import { AT, uniqueId } from '../test-support/fixtures.js';
import { type NatsFixture, natsWithStreams } from '../test-support/nats-fixture.js';
import { DataKeys } from './data-keys.js';
import { EventStore } from './event-store.js';
import { newEvent } from './events.js';
import { DATA_KEY_BUCKET, KvDataKeySource, kvKeyOf, openDataKeySource } from './kv-key-source.js';
import { SealedValueInvalid } from './sealing.js';
import { subjectOf } from './subjects.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

/** Every file the server wrote, concatenated: the stream and the bucket as they sit on disk. */
async function rawServerBytes(dir: string): Promise<Buffer> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
  return Buffer.concat(await Promise.all(files.map((file) => readFile(file))));
}

describe('DataKeys over the tessera_data_keys bucket', () => {
  let fx: NatsFixture;
  let keys: DataKeys;
  before(async () => {
    fx = await natsWithStreams();
    keys = new DataKeys(await openDataKeySource(fx.nc));
  });
  after(async () => fx?.close());

  it('keeps one key per aggregate, history 1, in a file-backed bucket', async () => {
    await keys.sealField('session.s1', 'address', 'x');
    const status = await (await fx.nc.jetstream().views.kv(DATA_KEY_BUCKET)).status();
    assert.equal(status.history, 1);
    assert.equal(status.backingStore, 'file');
  });

  it('opens sealed fields until the key is erased; then null, while other aggregates still open', async () => {
    const erased = `assoc.${uniqueId('a')}`;
    const kept = `assoc.${uniqueId('a')}`;
    const sealedErased = await keys.sealField(erased, 'address', 'alice@example.org');
    const sealedKept = await keys.sealField(kept, 'address', 'bob@example.org');
    assert.equal(text(await keys.openField(erased, 'address', sealedErased)), 'alice@example.org');
    await keys.erase(erased);
    assert.equal(await keys.openField(erased, 'address', sealedErased), null);
    // Another replica, with nothing cached, cannot read it either.
    const elsewhere = new DataKeys(await openDataKeySource(fx.nc));
    assert.equal(await elsewhere.openField(erased, 'address', sealedErased), null);
    assert.equal(text(await elsewhere.openField(kept, 'address', sealedKept)), 'bob@example.org');
  });

  /** A key source whose message deletes go through `deleteMessage` (given the real one). */
  const sourceDeletingWith = async (
    deleteMessage: (
      real: JetStreamManager['streams'],
      stream: string,
      seq: number,
      erase?: boolean,
    ) => Promise<boolean>,
  ) => {
    const js = fx.nc.jetstream();
    const jsm = await js.jetstreamManager();
    const wrapped = Object.create(jsm) as JetStreamManager;
    Object.defineProperty(wrapped, 'streams', {
      value: Object.assign(Object.create(jsm.streams), {
        deleteMessage: (stream: string, seq: number, erase?: boolean) => deleteMessage(jsm.streams, stream, seq, erase),
      }),
    });
    const kv = await js.views.kv(DATA_KEY_BUCKET, { bindOnly: true, allow_direct: true });
    return new DataKeys(new KvDataKeySource(kv, wrapped));
  };
  const opensFresh = async (aggregate: string, field: string, sealed: Awaited<ReturnType<DataKeys['sealField']>>) =>
    new DataKeys(await openDataKeySource(fx.nc)).openField(aggregate, field, sealed);

  it('erases a key that another process erased meanwhile (between its read and its delete)', async () => {
    const aggregate = `invite.${uniqueId('i')}:mail`;
    const sealed = await keys.sealField(aggregate, 'mail', 'seed');
    // The other eraser deletes the message just before this one does.
    const racing = await sourceDeletingWith(async (real, stream, seq, erase) => {
      await real.deleteMessage(stream, seq, erase);
      return real.deleteMessage(stream, seq, erase);
    });
    await racing.erase(aggregate);
    assert.equal(await opensFresh(aggregate, 'mail', sealed), null);
  });

  it('erases a key erased meanwhile whatever error code the server answers the delete with (10057 "no message found")', async () => {
    const aggregate = `invite.${uniqueId('i')}:mail`;
    const sealed = await keys.sealField(aggregate, 'mail', 'seed');
    const racing = await sourceDeletingWith(async (real, stream, seq, erase) => {
      await real.deleteMessage(stream, seq, erase);
      throw Object.assign(new Error('no message found'), {
        api_error: { code: 400, err_code: 10057, description: 'no message found' },
      });
    });
    await racing.erase(aggregate);
    assert.equal(await opensFresh(aggregate, 'mail', sealed), null);
  });

  it('fails an erase whose delete failed while the key is still there, and the key still opens', async () => {
    const aggregate = `invite.${uniqueId('i')}:mail`;
    const sealed = await keys.sealField(aggregate, 'mail', 'seed');
    const failing = await sourceDeletingWith(async () => {
      throw Object.assign(new Error('insufficient resources'), {
        api_error: { code: 503, err_code: 10023, description: 'insufficient resources' },
      });
    });
    await assert.rejects(failing.erase(aggregate));
    assert.equal(text(await opensFresh(aggregate, 'mail', sealed)), 'seed');
  });

  it('throws on a tampered ciphertext', async () => {
    const aggregate = `session.${uniqueId('s')}`;
    const sealed = await keys.sealField(aggregate, 'token', '123456');
    const tampered = Buffer.from(sealed.ciphertext);
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 0x80;
    await assert.rejects(keys.openField(aggregate, 'token', { ...sealed, ciphertext: tampered }), SealedValueInvalid);
  });

  it('gives replicas that create the first key at once the same key', async () => {
    const aggregate = `invite.${uniqueId('i')}`;
    const replicas = await Promise.all([1, 2, 3, 4].map(async () => new DataKeys(await openDataKeySource(fx.nc))));
    const sealed = await Promise.all(replicas.map((r, i) => r.sealField(aggregate, 'address', `v${i}`)));
    assert.equal(new Set(sealed.map((s) => s.keyId)).size, 1);
    for (const [i, s] of sealed.entries()) assert.equal(text(await keys.openField(aggregate, 'address', s)), `v${i}`);
  });

  it('writes no plaintext to disk, and overwrites an erased key there', async () => {
    const id = uniqueId('sid');
    const aggregate = `session.${id}`;
    const address = `carol-${id}@example.org`;
    const sealed = await keys.sealField(aggregate, 'address', address);
    // No event carries a Sealed field yet: ride it in a string field, as a future event would in bytes.
    const carrier = newEvent(
      {
        $case: 'keyCreated',
        value: {
          keyId: 'k',
          algorithm: 'sealed',
          publicKey: Buffer.from(Sealed.encode(sealed).finish()).toString('base64'),
        },
      },
      AT,
    );
    const store = new EventStore(fx.nc);
    await store.append(subjectOf('session', id), [carrier], { expectedSeq: 0, correlationId: 'c' });
    const source = new KvDataKeySource(
      await fx.nc.jetstream().views.kv(DATA_KEY_BUCKET),
      await fx.nc.jetstreamManager(),
    );
    const dataKey = await source.get(aggregate);
    assert.ok(dataKey !== null && dataKey !== 'erased');
    const keyOnDisk = Buffer.from(dataKey.key).toString('base64');
    const before = await rawServerBytes(fx.nats.dataDir);
    assert.ok(
      before.includes(Buffer.from(Sealed.encode(sealed).finish()).toString('base64')),
      'the sealed value is stored',
    );
    assert.ok(!before.includes(address), 'the address is not on disk in plaintext');
    assert.ok(before.includes(keyOnDisk), 'the data key is in the bucket before the erase');
    await keys.erase(aggregate);
    assert.equal(await source.get(aggregate), 'erased', 'the erase leaves a marker: the key is gone, not missing');
    const after = await rawServerBytes(fx.nats.dataDir);
    assert.ok(!after.includes(keyOnDisk), 'the erased key is gone from disk');
    assert.ok(kvKeyOf(aggregate).startsWith('session.'));
  });
});
