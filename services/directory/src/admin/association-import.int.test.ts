import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type AssociationFields, IMPORT_PATHS, MAX_IMPORT_BATCH } from '@tessera/admin-imports';
import { verifyJsonSignature } from '@tessera/canonical-json';
import { DATA_KEY_BUCKET, DataKeys, EventStore, openDataKeySource } from '@tessera/event-store';
import { indexHashes } from '@tessera/lookup-hash';
import { BindingSource } from '@tessera/proto/tessera/events/v1/association';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import { createSecrets } from '@tessera/server-secret';
import { ASSOCIATION_SEALED_FIELDS, bindingDataKey } from '@tessera/spec-params';
import { type DirectoryTestbed, startDirectoryTestbed } from '../../test-support/directory-testbed.js';
import { KEY_ID, SERVER_NAME } from '../../test-support/stand-ins.js';
import { assocSubject } from '../binder.js';
import { storedAssociations } from '../events/association-events.js';

// The import endpoints of `tessera import sydent` on a real nats-server and PostgreSQL.
let bed: DirectoryTestbed;
before(async () => {
  bed = await startDirectoryTestbed({ now: Date.now, maxAddresses: 5, graceMs: 60_000 });
});
after(async () => {
  await bed?.stop();
});

const YEAR_MS = 365 * 86_400_000;
const TS = Date.parse('2024-05-01T12:00:00Z');
const uniq = () => randomBytes(5).toString('hex');
const fieldsOf = (address: string, mxid: string, ts = TS): AssociationFields => ({
  medium: 'email',
  address,
  mxid,
  ts,
  not_before: ts,
  not_after: ts + 100 * YEAR_MS,
});
const itemOf = (association: object, importId = `sydent:id.example:${uniq()}`) => ({ importId, association });

type Outcome = { outcome: string; reason?: string; ourSignature?: string };
async function importBatch(items: unknown[]): Promise<Outcome[]> {
  const answer = await bed.admin(IMPORT_PATHS.directory.associations, JSON.stringify({ items }));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.outcomes as Outcome[];
}
const lookupOne = async (address: string) =>
  (await bed.directory.lookup({ threepids: [{ medium: Medium.MEDIUM_EMAIL, address }], mxidOnly: false })).results[0];
async function hashedLookup(address: string) {
  const { lookupPepper } = await bed.directory.hashDetails({});
  const { answers } = await bed.directory.hashedLookup({
    queries: [{ algorithm: 'sha256', pepper: lookupPepper, addresses: indexHashes('email', address, lookupPepper) }],
  });
  return answers[0]?.outcome;
}
/** The last sequences of the event stream and of the data-key bucket's stream: any write moves one. */
async function lastSequences() {
  const jsm = await bed.nc.jetstreamManager();
  const events = await jsm.streams.info('TESSERA_EVENTS');
  const keys = await jsm.streams.info(`KV_${DATA_KEY_BUCKET}`);
  return { events: events.state.last_seq, keys: keys.state.last_seq };
}
async function boundEvents(address: string) {
  const addrKey = createSecrets(bed.secretKey).addrKey('email', address);
  const { events } = await new EventStore(bed.nc).load(assocSubject(addrKey));
  return {
    events,
    bound: storedAssociations.codec.fromStoredEvents(events).filter((e) => e.type === 'AssociationBound'),
  };
}
const opens = async (address: string, bindingId: string, sealed: Parameters<DataKeys['openField']>[2]) =>
  (await new DataKeys(await openDataKeySource(bed.nc)).openField(
    bindingDataKey(createSecrets(bed.secretKey).addrKey('email', address), bindingId),
    ASSOCIATION_SEALED_FIELDS.association,
    sealed,
  )) !== null;

describe('import/associations', () => {
  it("stores each association with its timestamps and every signature: ours added to a peer's, the same on a clean own row, changed on a stale one", async () => {
    const [own, peer, stale] = [`own-${uniq()}@example.org`, `ivy-${uniq()}@example.org`, `old-${uniq()}@example.org`];
    const ownFields = fieldsOf(own, '@own:hs.example');
    const ownSigned = JSON.parse(bed.standIns.sign(JSON.stringify(ownFields))) as { signatures: object };
    const peerCase = peer.replace(/^ivy/, 'Ivy').replace('example.org', 'Example.org');
    const peerSignatures = { 'peer.example': { 'ed25519:p': 'cGVlcidzIHNpZ25hdHVyZQ' } };
    const items = [
      itemOf({ ...ownFields, signatures: ownSigned.signatures }),
      itemOf({ ...fieldsOf(peerCase, '@ivy:peer-hs.example', TS + 5), signatures: peerSignatures }),
      itemOf({ ...fieldsOf(stale, '@old:hs.example'), signatures: { [SERVER_NAME]: { [KEY_ID]: 'c3RhbGU' } } }),
    ];
    const outcomes = await importBatch(items);
    assert.deepEqual(outcomes, [
      { outcome: 'imported', ourSignature: 'same' },
      { outcome: 'imported', ourSignature: 'added' },
      { outcome: 'imported', ourSignature: 'changed' },
    ]);

    // Visible at once: the answer came once the projector had applied the batch.
    const ownFound = await lookupOne(own);
    assert.equal(ownFound?.mxid, '@own:hs.example');
    assert.deepEqual(JSON.parse(ownFound?.associationJson ?? '{}'), { ...ownFields, signatures: ownSigned.signatures });

    // The peer's row: signed in its sender's case, found by the folded address, both signatures kept.
    const peerFound = await lookupOne(peer);
    assert.equal(peerFound?.mxid, '@ivy:peer-hs.example');
    const peerJson = JSON.parse(peerFound?.associationJson ?? '{}') as Record<string, unknown> & {
      signatures: Record<string, unknown>;
    };
    assert.equal(peerJson.address, peerCase);
    assert.equal(peerJson.ts, TS + 5);
    assert.deepEqual(peerJson.signatures['peer.example'], peerSignatures['peer.example']);
    assert.equal(
      verifyJsonSignature(peerJson, { entity: SERVER_NAME, keyId: KEY_ID, publicKey: bed.standIns.publicKey }),
      true,
    );
    assert.deepEqual(await hashedLookup(peer), { $case: 'mappings', value: { mxids: ['@ivy:peer-hs.example'] } });
    const { answers } = await bed.directory.hashedLookup({
      queries: [
        {
          algorithm: 'none',
          pepper: (await bed.directory.hashDetails({})).lookupPepper,
          addresses: [`${peerCase} email`],
        },
      ],
    });
    assert.deepEqual(answers[0]?.outcome, { $case: 'mappings', value: { mxids: ['@ivy:peer-hs.example'] } });

    const staleJson = JSON.parse((await lookupOne(stale))?.associationJson ?? '{}') as object;
    assert.equal(
      verifyJsonSignature(staleJson, { entity: SERVER_NAME, keyId: KEY_ID, publicKey: bed.standIns.publicKey }),
      true,
    );

    const { bound } = await boundEvents(peer);
    assert.equal(bound.length, 1);
    const [event] = bound;
    assert.ok(event?.type === 'AssociationBound');
    assert.deepEqual([event.data.source, event.data.ts, event.data.notBefore], ['import', TS + 5, TS + 5]);
    const { events } = await boundEvents(peer);
    assert.equal(
      events[0]?.payload?.$case === 'associationBound' && events[0].payload.value.source,
      BindingSource.BINDING_SOURCE_IMPORT,
    );
  });

  it('checks a signature as an import would sign, storing nothing: same with this key, changed with another, 400 for a bad association', async () => {
    const address = `check-${uniq()}@example.org`;
    const fields = fieldsOf(address, '@check:hs.example');
    const signed = JSON.parse(bed.standIns.sign(JSON.stringify(fields))) as { signatures: object };
    const before = await lastSequences();
    const check = async (association: object) =>
      bed.admin(IMPORT_PATHS.directory.checkSignature, JSON.stringify({ association }));
    assert.deepEqual((await check({ ...fields, signatures: signed.signatures })).body, {
      keyId: KEY_ID,
      ourSignature: 'same',
    });
    const otherKey = { [SERVER_NAME]: { [KEY_ID]: 'YW5vdGhlciBrZXk' } };
    assert.deepEqual((await check({ ...fields, signatures: otherKey })).body, {
      keyId: KEY_ID,
      ourSignature: 'changed',
    });
    const bad = await check({ ...fields, mxid: 'not a user' });
    assert.equal(bad.status, 400);
    assert.equal((bad.body as { errcode?: string }).errcode, 'M_INVALID_PARAM');
    assert.deepEqual(await lastSequences(), before, 'nothing stored');
    assert.equal((await lookupOne(address))?.mxid ?? '', '');
  });

  it('writes nothing when the same batch comes again: every item present, no event, no data key, no signing', async () => {
    const items = Array.from({ length: 20 }, (_, i) =>
      itemOf(fieldsOf(`again-${i}-${uniq()}@example.org`, `@a${i}:hs.example`)),
    );
    assert.ok((await importBatch(items)).every(({ outcome }) => outcome === 'imported'));
    const before = await lastSequences();
    const signingCalls = bed.standIns.signBatchCalls();
    const again = await importBatch(items);
    assert.deepEqual(
      again.map(({ outcome }) => outcome),
      items.map(() => 'present'),
    );
    assert.deepEqual(await lastSequences(), before);
    assert.equal(bed.standIns.signBatchCalls(), signingCalls, 'nothing present is signed again');
  });

  it('refuses bad items and a 3PID bound since with a reason, and the others go on; an older binding is replaced and its key erased', async () => {
    const [good1, good2, newer, older] = [1, 2, 3, 4].map((n) => `r${n}-${uniq()}@example.org`) as [
      string,
      string,
      string,
      string,
    ];
    // Bound here now: newer than TS, older than TS + 100 years.
    await bed.admin(
      '/_tessera/directory/v1/bind',
      JSON.stringify({ medium: 'email', address: newer, mxid: '@now:hs.example' }),
    );
    await bed.admin(
      '/_tessera/directory/v1/bind',
      JSON.stringify({ medium: 'email', address: older, mxid: '@was:hs.example' }),
    );
    // Verified after the bind above, valid since before it.
    const later = { ...fieldsOf(older, '@later:hs.example', Date.now() + 3_600_000), not_before: TS };
    const outcomes = await importBatch([
      itemOf({ ...fieldsOf(good1, '@g1:hs.example'), medium: 'fax' }),
      itemOf(fieldsOf(good1, '@g1:hs.example')),
      itemOf({ ...fieldsOf(good2, '@g2:hs.example'), invites: [{ token: 'leaked' }] }),
      itemOf(fieldsOf('not an address', '@x:hs.example')),
      itemOf(fieldsOf(good2, 'no user id')),
      itemOf({ ...fieldsOf(good2, '@g2:hs.example'), not_after: TS - 1 }),
      'not an object',
      itemOf(fieldsOf(newer, '@then:hs.example')),
      itemOf(later),
      itemOf(fieldsOf(good2, '@g2:hs.example')),
    ]);
    assert.deepEqual(
      outcomes.map(({ outcome }) => outcome),
      ['refused', 'imported', 'refused', 'refused', 'refused', 'refused', 'refused', 'refused', 'imported', 'imported'],
    );
    assert.match(outcomes[0]?.reason ?? '', /medium/);
    assert.match(outcomes[2]?.reason ?? '', /"invites"/);
    assert.match(outcomes[7]?.reason ?? '', /a newer binding exists/);
    for (const refused of outcomes.filter(({ outcome }) => outcome === 'refused')) assert.ok(refused.reason);

    assert.equal((await lookupOne(good1))?.mxid, '@g1:hs.example');
    assert.equal((await lookupOne(good2))?.mxid, '@g2:hs.example');
    assert.equal((await lookupOne(newer))?.mxid, '@now:hs.example');
    assert.equal((await lookupOne(older))?.mxid, '@later:hs.example');
    const [replaced, importedBinding] = (await boundEvents(older)).bound;
    assert.ok(replaced?.type === 'AssociationBound' && importedBinding?.type === 'AssociationBound');
    assert.equal(await opens(older, replaced.data.bindingId, replaced.data.association), false);
    assert.equal(await opens(older, importedBinding.data.bindingId, importedBinding.data.association), true);
  });

  it('answers a batch of more than MAX_IMPORT_BATCH items with 413, and a body without items with M_BAD_JSON', async () => {
    const tooMany = Array.from({ length: MAX_IMPORT_BATCH + 1 }, () => ({}));
    const large = await bed.admin(IMPORT_PATHS.directory.associations, JSON.stringify({ items: tooMany }));
    assert.deepEqual([large.status, large.body.errcode], [413, 'M_TOO_LARGE']);
    const none = await bed.admin(IMPORT_PATHS.directory.associations, '{}');
    assert.deepEqual([none.status, none.body.errcode], [400, 'M_BAD_JSON']);
    const empty = await importBatch([]);
    assert.deepEqual(empty, []);
  });
});

describe('import/pepper', () => {
  it('makes the imported pepper the one offered, then answers present and appends nothing; refuses another form', async () => {
    const pepper = `nGwAB${uniq()}`;
    const first = await bed.admin(IMPORT_PATHS.directory.pepper, JSON.stringify({ pepper }));
    assert.deepEqual(first, { status: 200, body: { outcome: 'imported' } });
    assert.equal((await bed.directory.hashDetails({})).lookupPepper, pepper);

    const address = `p-${uniq()}@example.org`;
    await importBatch([itemOf(fieldsOf(address, '@pep:hs.example'))]);
    assert.deepEqual(await hashedLookup(address), { $case: 'mappings', value: { mxids: ['@pep:hs.example'] } });

    const before = await lastSequences();
    const again = await bed.admin(IMPORT_PATHS.directory.pepper, JSON.stringify({ pepper }));
    assert.deepEqual(again, { status: 200, body: { outcome: 'present' } });
    assert.deepEqual(await lastSequences(), before);

    for (const bad of ['', 'has space', 'x'.repeat(65), 42]) {
      const refused = await bed.admin(IMPORT_PATHS.directory.pepper, JSON.stringify({ pepper: bad }));
      assert.equal(refused.status, 200);
      assert.equal(refused.body.outcome, 'refused', String(bad));
    }
    assert.equal((await bed.directory.hashDetails({})).lookupPepper, pepper);
  });
});
