import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ASSOCIATIONS_PROJECTION, type RunningProjection } from '@tessera/db';
import { lookupHash } from '@tessera/lookup-hash';
import { bindingDataKey } from '@tessera/spec-params';
import { addrKeyOf } from '../test-support/directory-appender.js';
import { countOf, readModel, until } from '../test-support/fixtures.js';
import { projectorTestbed } from '../test-support/testbed.js';
import type { RunningAssociations, runAssociations } from './projector.js';

// The associations projection on a real nats-server and PostgreSQL; each test a fresh stream and
// empty tables.
const bed = projectorTestbed();

// One runner per test, started by its first project(): a runner started at every call would leave
// several applying the same batches at once, and four of them can hold every connection of the
// pool (a test that then waits forever on a loaded machine).
let runner: RunningProjection | undefined;
beforeEach(() => {
  runner = undefined;
});

async function project(): Promise<RunningProjection> {
  const current = runner ?? (await bed.run());
  runner = current;
  const upTo = await bed.lastSeq();
  await until('the projection covers the stream', () => current.checkpoint() >= upTo);
  return current;
}

const hashesOf = async (addrKey: string) =>
  (await bed.db.selectFrom('lookup_hash').select(['pepper_id', 'hash']).where('addr_key', '=', addrKey).execute())
    .map((row) => `${row.pepper_id} ${row.hash}`)
    .sort();

describe('the associations projection', () => {
  it("indexes the spec's vectors (NOTES §5.4) with the pepper created before the bindings (hashed in JS) and after them (in SQL), as lookupHash does", async () => {
    await bed.directory.createPepper('p-before', 'matrixrocks');
    const alice = await bed.directory.bind({
      medium: 'email',
      address: 'alice@example.com',
      mxid: '@alice:example.com',
    });
    const bob = await bed.directory.bind({ medium: 'email', address: 'bob@example.com', mxid: '@bob:example.com' });
    const phone = await bed.directory.bind({ medium: 'msisdn', address: '18005552067', mxid: '@carol:example.com' });
    await project();
    assert.deepEqual(await hashesOf(alice.addrKey), ['p-before 4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc']);
    assert.deepEqual(await hashesOf(bob.addrKey), ['p-before LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8']);
    assert.deepEqual(await hashesOf(phone.addrKey), ['p-before nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I']);

    // A pepper created after them: its index is built in one INSERT … SELECT, hashed by PostgreSQL.
    await bed.directory.retirePepper('p-before');
    await bed.directory.createPepper('p-after', 'matrixrocks');
    await project();
    assert.deepEqual(await hashesOf(alice.addrKey), ['p-after 4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc']);
    assert.deepEqual(await hashesOf(phone.addrKey), ['p-after nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I']);
    assert.deepEqual(
      (await bed.db.selectFrom('lookup_pepper').select(['pepper_id', 'created_seq']).execute()).map((p) => p.pepper_id),
      ['p-after'],
    );
  });

  it('keeps the signed association and both forms of a ß address, each hashed for every live pepper', async () => {
    await bed.directory.createPepper('one', 'pepper-one');
    const bound = await bed.directory.bind({ medium: 'email', address: 'Straße@Example.org', mxid: '@s:example.org' });
    await bed.directory.createPepper('two', 'pepper-two');
    await project();
    assert.deepEqual(bound.forms, ['strasse@example.org', 'straße@example.org']);
    const row = await bed.db.selectFrom('association').selectAll().executeTakeFirstOrThrow();
    assert.deepEqual(row, {
      addr_key: bound.addrKey,
      medium: 'email',
      address: 'strasse@example.org',
      mxid: '@s:example.org',
      binding_id: bound.bindingId,
      ts: JSON.parse(bound.association).ts.toString(),
      not_before: JSON.parse(bound.association).not_before.toString(),
      not_after: JSON.parse(bound.association).not_after.toString(),
      association_json: bound.association,
      lookup_forms: bound.forms,
      bound_seq: String(bound.seq),
    });
    const expected = ['one pepper-one', 'two pepper-two'].flatMap((p) => {
      const [id = '', pepper = ''] = p.split(' ');
      return bound.forms.map((form) => `${id} ${lookupHash(form, 'email', pepper)}`);
    });
    assert.deepEqual(await hashesOf(bound.addrKey), expected.sort());
  });

  it("stores and hashes the normalised address of an association signed in a peer's case, serving the JSON as signed", async () => {
    await bed.directory.createPepper('p', 'pepper');
    const bound = await bed.directory.bind(
      { medium: 'email', address: 'Ivy@Example.org', mxid: '@ivy:peer.example' },
      { keepCase: true },
    );
    await project();
    assert.equal(JSON.parse(bound.association).address, 'Ivy@Example.org');
    const row = await bed.db
      .selectFrom('association')
      .select(['addr_key', 'address', 'lookup_forms', 'association_json'])
      .executeTakeFirstOrThrow();
    assert.deepEqual(row, {
      addr_key: addrKeyOf('email', 'ivy@example.org'),
      address: 'ivy@example.org',
      lookup_forms: ['ivy@example.org'],
      association_json: bound.association,
    });
    assert.deepEqual(await hashesOf(bound.addrKey), [`p ${lookupHash('ivy@example.org', 'email', 'pepper')}`]);
  });

  it('replaces a rebinding, ends an unbinding (only of the binding it names), and drops a retired pepper’s index', async () => {
    await bed.directory.createPepper('p', 'pepper');
    const first = await bed.directory.bind({ medium: 'email', address: 'dave@example.org', mxid: '@old:example.org' });
    const other = await bed.directory.bind({ medium: 'email', address: 'erin@example.org', mxid: '@erin:example.org' });
    await project();
    const again = await bed.directory.bind({ medium: 'email', address: 'DAVE@example.org', mxid: '@new:example.org' });
    await project();
    assert.equal(again.addrKey, first.addrKey);
    const rows = await bed.db
      .selectFrom('association')
      .select(['addr_key', 'mxid', 'binding_id'])
      .orderBy('mxid')
      .execute();
    assert.deepEqual(rows, [
      { addr_key: other.addrKey, mxid: '@erin:example.org', binding_id: other.bindingId },
      { addr_key: first.addrKey, mxid: '@new:example.org', binding_id: again.bindingId },
    ]);
    assert.equal((await hashesOf(first.addrKey)).length, 1, 'the replaced binding’s hashes are gone');

    await bed.directory.unbind(other.addrKey);
    await project();
    assert.equal(await countOf(bed.db, 'association'), 1);
    assert.deepEqual(await hashesOf(other.addrKey), []);

    await bed.directory.retirePepper('p');
    await project();
    assert.equal(await countOf(bed.db, 'lookup_hash'), 0);
    assert.equal(await countOf(bed.db, 'lookup_pepper'), 0);
    assert.equal(await countOf(bed.db, 'association'), 1);
  });

  it('counts a binding whose key was erased as gone, and a rebuild after crypto-shredding gives identical tables', async () => {
    await bed.directory.createPepper('p', 'pepper');
    for (let i = 0; i < 30; i++)
      await bed.directory.bind({ medium: 'email', address: `u${i}@x.org`, mxid: `@u${i}:x.org` });
    // Rebound and unbound after the events were appended: replaying them finds erased keys.
    for (let i = 0; i < 10; i++)
      await bed.directory.bind({ medium: 'email', address: `u${i}@x.org`, mxid: `@v${i}:x.org` });
    for (let i = 10; i < 15; i++) await bed.directory.unbind(addrKeyOf('email', `u${i}@x.org`));
    await bed.directory.createPepper('q', 'pepper-q');
    await project();
    const live = await readModel(bed.db);
    assert.equal(live.associations.length, 25);
    assert.equal(live.hashes.length, 50);
    assert.ok(live.associations.filter((a) => a.mxid.startsWith('@v')).length === 10);

    await bed.stopRunners();
    runner = undefined;
    const outcome = await bed.rebuild();
    assert.equal(outcome.by, 'this process');
    assert.deepEqual(await readModel(bed.db), live);
  });

  it('applies a batch holding bindings, a pepper and more bindings in stream order', async () => {
    await bed.directory.bind({ medium: 'email', address: 'early@x.org', mxid: '@early:x.org' });
    await bed.directory.createPepper('p', 'pepper');
    const late = await bed.directory.bind({ medium: 'email', address: 'late@x.org', mxid: '@late:x.org' });
    await bed.directory.unbind(late.addrKey);
    await bed.directory.bind({ medium: 'email', address: 'late@x.org', mxid: '@later:x.org' });
    await project();
    const model = await readModel(bed.db);
    assert.deepEqual(
      model.associations.map((a) => a.mxid),
      [addrKeyOf('email', 'early@x.org'), addrKeyOf('email', 'late@x.org')]
        .sort()
        .map((key) => (key === addrKeyOf('email', 'early@x.org') ? '@early:x.org' : '@later:x.org')),
    );
    assert.equal(model.hashes.length, 2);
    assert.equal(
      (
        await bed.db
          .selectFrom('projector_checkpoint')
          .select('last_seq')
          .where('projection', '=', ASSOCIATIONS_PROJECTION)
          .executeTakeFirst()
      )?.last_seq,
      '5',
    );
  });
});

describe('the binding keys the projector follows', () => {
  /** A projector runner that projects events as they come. */
  async function live(keys?: Parameters<typeof runAssociations>[0]['keys']): Promise<RunningAssociations> {
    return bed.run(keys && { keys });
  }
  const covers = (runner: RunningAssociations, seq: number) =>
    until(`the projection covers ${seq}`, () => runner.checkpoint() >= seq);
  const bindingOf = (addrKey: string) =>
    bed.db.selectFrom('association').select(['binding_id', 'mxid']).where('addr_key', '=', addrKey).executeTakeFirst();

  it('opens a binding with its key read from the bucket stream, without fetching it, and lets the key go once used', async () => {
    const runner = await live();
    const first = await bed.directory.bind({ medium: 'email', address: 'first@x.org', mxid: '@first:x.org' });
    await covers(runner, first.seq); // the projection has started, and with it the following of keys
    const before = runner.keyStats();
    const second = await bed.directory.bind(
      { medium: 'email', address: 'second@x.org', mxid: '@second:x.org' },
      { beforeAppend: (key) => until('the projector holds the key', () => runner.holdsKey(key)) },
    );
    await covers(runner, second.seq);
    const after = runner.keyStats();
    assert.deepEqual(
      { fromMemory: after.fromMemory - before.fromMemory, fetched: after.fetched - before.fetched },
      { fromMemory: 1, fetched: 0 },
    );
    assert.equal(runner.holdsKey(bindingDataKey(second.addrKey, second.bindingId)), false, 'let go once used');
    assert.deepEqual(await bindingOf(second.addrKey), { binding_id: second.bindingId, mxid: '@second:x.org' });
  });

  it('never opens a binding with a key erased after it was read: the erase marker removes it from memory', async () => {
    const runner = await live();
    const first = await bed.directory.bind({ medium: 'email', address: 'first@x.org', mxid: '@first:x.org' });
    await covers(runner, first.seq);
    const shredded = await bed.directory.bind(
      { medium: 'email', address: 'shredded@x.org', mxid: '@shredded:x.org' },
      {
        beforeAppend: async (key) => {
          await until('the projector holds the key', () => runner.holdsKey(key));
          await bed.directory.eraseKey(key); // crypto-shredding with no event: only the marker tells
          await until('the erase reaches the projector', () => !runner.holdsKey(key));
        },
      },
    );
    await covers(runner, shredded.seq);
    assert.equal(await bindingOf(shredded.addrKey), undefined, 'the erased binding is gone');
    assert.equal(await countOf(bed.db, 'association'), 1);
  });

  it('holds at most maxHeld keys, pausing behind them, and fetches the keys it has not read (arriving after their events)', async () => {
    // A key no event uses, created first: with room for one key, following pauses behind it.
    const orphan = bindingDataKey(addrKeyOf('email', 'orphan@x.org'), 'never-appended');
    await bed.directory.createKey(orphan);
    const runner = await live({ maxHeld: 1, marginMs: 3_600_000 });
    const first = await bed.directory.bind({ medium: 'email', address: 'u0@x.org', mxid: '@u0:x.org' });
    await covers(runner, first.seq);
    await until('the orphan key is read', () => runner.holdsKey(orphan));
    const bound = [first];
    for (let i = 1; i < 5; i++)
      bound.push(await bed.directory.bind({ medium: 'email', address: `u${i}@x.org`, mxid: `@u${i}:x.org` }));
    await covers(runner, bound.at(-1)?.seq ?? 0);
    for (const one of bound) assert.equal((await bindingOf(one.addrKey))?.binding_id, one.bindingId);
    assert.deepEqual(runner.keyStats(), { fromMemory: 0, fetched: 5, mostHeld: 1, held: 1 });
  });
});
