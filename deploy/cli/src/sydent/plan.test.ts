import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lookupHash } from '@tessera/lookup-hash';
import { SAMPLE_DIR } from '../../test-support/sydent-sample.js';
import { NOTES, planAssociations, REASONS } from './plan-associations.js';
import {
  planAccounts,
  planEphemeralKeys,
  planInvites,
  planPepper,
  planSessions,
  planTerms,
  RECORD_NOTES,
  RECORD_REASONS,
} from './plan-records.js';
import { PlanReport } from './plan-report.js';
import {
  type GlobalAssociationRow,
  type LocalAssociationRow,
  openSydentSnapshot,
  type SydentSnapshot,
} from './sydent-db.js';

const SELF = 'id.example.test';
const PEER = 'peer.example.test';
const HS = '127.0.0.1:8492';
/** The end of the sample's capture (README): every session is less than 24 h old then. */
const CAPTURED_AT = 1796186273288;
const DAY = 24 * 3_600_000;

describe('planning the sample Sydent database', () => {
  let db: SydentSnapshot;
  before(() => {
    db = openSydentSnapshot(`${SAMPLE_DIR}/sydent.db`);
  });
  after(() => db?.close());

  it('imports exactly the README’s expected live mapping, newest binding per folded address', () => {
    const report = new PlanReport();
    const planned = [...planAssociations(db, { serverName: SELF, now: CAPTURED_AT, report })];
    const mapping = Object.fromEntries(
      planned.map(({ item }) => [
        `${item.association.medium} ${item.association.address.toLowerCase()}`,
        item.association.mxid,
      ]),
    );
    assert.deepEqual(mapping, {
      'email alice@example.org': `@alice:${HS}`,
      'email carol@example.com': `@carol:${HS}`,
      'email bob.smith@example.com': `@bob:${HS}`,
      'email erin@example.org': `@erin:${HS}`,
      'email gina@example.org': `@gina:${HS}`,
      'email jürgen.strasse@example.de': `@juergen:${HS}`,
      'email ivan@example.org': `@ivan.new:${HS}`,
      'email ivy@example.org': '@ivy:peer-hs.test',
      'msisdn 447700900123': `@henry:${HS}`,
      'msisdn 15555550123': '@mia:peer-hs.test',
    });
    assert.equal(report.planned.associations, 10);
    const byId = new Map(planned.map(({ item }) => [item.importId, item.association]));
    assert.ok(byId.has(`sydent:${SELF}:11`), 'ivan’s rebind (local 11), not the stale global row of local 10');
    assert.ok(!byId.has(`sydent:${SELF}:10`));
    // A clean own row keeps its signature (the directory's equals it); a peer's keeps the case it signed.
    assert.equal(
      byId.get(`sydent:${SELF}:1`)?.signatures?.[SELF]?.['ed25519:0'],
      '07Rxiagj3hVefftUN9nFa9xDe2loduzD6CrE5xUkQsLOP93XfJHr+YWyVRx3fVWdkf8zG4mwbDEkL8y9oicSCQ',
    );
    const ivy = byId.get(`sydent:${PEER}:101`);
    assert.equal(ivy?.address, 'Ivy@Example.org');
    assert.deepEqual(Object.keys(ivy?.signatures ?? {}), [PEER]);
  });

  it('strips the leaked invites of gina, jürgen, henry and ivan and drops the signatures that covered them', () => {
    const report = new PlanReport();
    const planned = [...planAssociations(db, { serverName: SELF, now: CAPTURED_AT, report })];
    const stripped = planned
      .filter(({ item }) => item.association.signatures === undefined)
      .map(({ item }) => item.importId);
    assert.deepEqual(stripped.sort(), [7, 8, 9, 11].map((id) => `sydent:${SELF}:${id}`).sort());
    for (const { item } of planned)
      assert.deepEqual(
        Object.keys(item.association)
          .filter((key) => key !== 'signatures')
          .sort(),
        ['address', 'medium', 'mxid', 'not_after', 'not_before', 'ts'],
      );
    assert.equal(report.notes.count(NOTES.stripped), 4);
    assert.match(report.notes.entries()[0]?.[1].examples.join('\n') ?? '', /global 6 .*stripped invites; re-signed/);
  });

  it('reports each row it leaves out with its reason, and finds every stored lookup hash right', () => {
    const report = new PlanReport();
    [...planAssociations(db, { serverName: SELF, now: CAPTURED_AT, report })];
    const out = report.leftOut.associations;
    assert.equal(out.count(REASONS.supersededOwn), 1); // ivan's old global row
    assert.match(
      out.entries().find(([reason]) => reason === REASONS.supersededOwn)?.[1].examples[0] ?? '',
      /global 9 .*@ivan:/,
    );
    assert.equal(out.count(REASONS.expired), 1); // old@example.org
    assert.equal(out.count(REASONS.shadowedByOwn), 1); // the peer's older alice
    assert.equal(out.count(REASONS.tombstone), 1); // carol.old
    assert.equal(out.total, 4);
    assert.equal(report.notes.count(NOTES.hashMismatch), 0);
    assert.equal(report.notes.count(NOTES.unknownOrigin), 0);
  });

  it('keeps the pepper, every invite (seconds to ms, pending or attempted) and every ephemeral key', () => {
    const report = new PlanReport();
    const context = { now: CAPTURED_AT, report };
    assert.deepEqual(planPepper(db, context)?.item, { pepper: 'nGwAB' });
    const invites = [...planInvites(db, context)].map(({ item }) => item);
    assert.deepEqual(
      invites.map(({ address, sentTs, receivedTs }) => ({ address, sentTs, receivedTs })),
      [
        { address: 'erin@example.org', sentTs: 1796186263000, receivedTs: 1796186263000 },
        { address: 'frank@example.org', sentTs: null, receivedTs: 1796186263000 },
        { address: 'xavier@example.org', sentTs: null, receivedTs: 1796186263000 },
      ],
    );
    assert.equal(invites[1]?.sender, `@carol:${HS}`);
    assert.equal(invites[1]?.roomId, `!bookclub:${HS}`);
    assert.equal(report.notes.count(RECORD_NOTES.pendingInvite), 2);
    assert.equal(report.notes.count(RECORD_NOTES.attemptedInvite), 1);
    assert.deepEqual(
      [...planEphemeralKeys(db, context)].map(({ item }) => item.publicKey),
      [
        'S7Jt50IC_134aFq5JzbvCgEdZzcgHZQRq4MpTWr9SLY',
        'GD_oUoyIlfeMoJcwqfzRuAEi1sv5DFvYsB3xpuvgrA4',
        'XSYDchSzE0OY9x8Fx1Xg50F-DAi1exjCqG5IAnn6s1c',
        '8qG6xZhnyjbY4tUpcMJlgAWcyIESsnYJtD4Fu-AYD6U',
      ],
    );
  });

  it('carries every live token with its account, and every user’s accepted URLs', () => {
    const report = new PlanReport();
    const context = { now: CAPTURED_AT, report };
    const accounts = [...planAccounts(db, context)].map(({ item }) => item);
    assert.equal(accounts.length, 4);
    assert.ok(!accounts.some(({ token }) => token.startsWith('zpu95')), 'the logged-out token is gone');
    assert.deepEqual(accounts.find(({ token }) => token.startsWith('iRuMB'))?.userId, `@carol:${HS}`);
    assert.equal(accounts.find(({ userId }) => userId === `@dave:${HS}`)?.createdTs, 1796186263727);
    const terms = Object.fromEntries([...planTerms(db, context)].map(({ item }) => [item.userId, item.urls]));
    assert.deepEqual(terms[`@dave:${HS}`], ['https://id.example.test/terms/privacy-1.2-en.html']);
    assert.equal(terms[`@bob:${HS}`]?.length, 2);
    assert.equal(Object.keys(terms).length, 3);
  });

  it('keeps the sessions younger than 24 h at --now, and drops and counts the rest', () => {
    const fresh = new PlanReport();
    const sessions = [...planSessions(db, { now: CAPTURED_AT, report: fresh })].map(({ item }) => item);
    assert.equal(sessions.length, 9);
    const bob = sessions.find(({ sid }) => sid === '86284835');
    assert.deepEqual(bob, {
      sid: '86284835',
      medium: 'email',
      address: 'Bob.Smith@Example.COM',
      clientSecret: 'bob-secret-1',
      token: 'OZpmLq9LVpOljzi8mZctgFpyqGvGzU1R',
      validated: true,
      mtime: 1796186263672,
    });
    // 24 h after the first change and before the last: only the later ones remain.
    const later = new PlanReport();
    const kept = [...planSessions(db, { now: 1796186263913 + DAY, report: later })].map(({ item }) => item.sid);
    assert.deepEqual(kept.sort(), ['1293331112', '1333621723', '1658922165', '1666147550'].sort());
    assert.equal(later.leftOut.sessions.count(RECORD_REASONS.sessionExpired), 5);
    const all = new PlanReport();
    assert.equal([...planSessions(db, { now: CAPTURED_AT + DAY, report: all })].length, 0);
    assert.equal(all.leftOut.sessions.count(RECORD_REASONS.sessionExpired), 9);
  });
});

// --- rules on hand-made rows --------------------------------------------------------------------

const PEPPER = 'pepPR';
const HUNDRED_YEARS = 3_153_600_000_000;
const NOW = 2_000_000_000_000;

function local(id: number, address: string, mxid: string | null, ts: number): LocalAssociationRow {
  return {
    id,
    medium: 'email',
    address,
    mxid,
    ts,
    notBefore: mxid === null ? null : ts,
    notAfter: mxid === null ? null : ts + HUNDRED_YEARS,
    lookupHash: mxid === null ? null : lookupHash(address, 'email', PEPPER), // Sydent hashed the stored form
  };
}

function global(
  id: number,
  origin: string,
  originId: number,
  address: string,
  mxid: string,
  ts: number,
  extra: Record<string, unknown> = {},
): GlobalAssociationRow {
  const fields = { medium: 'email', address, mxid, ts, not_before: ts, not_after: ts + HUNDRED_YEARS };
  return {
    id,
    medium: 'email',
    address,
    mxid,
    ts,
    notBefore: ts,
    notAfter: ts + HUNDRED_YEARS,
    originServer: origin,
    originId,
    sgAssoc: JSON.stringify({ ...fields, ...extra, signatures: { [origin]: { 'ed25519:0': `sig-${id}` } } }),
    lookupHash: lookupHash(address, 'email', PEPPER),
  };
}

function plan(locals: LocalAssociationRow[], globals: GlobalAssociationRow[], peers: string[] = [PEER]) {
  const report = new PlanReport();
  const rows = {
    localAssociations: () => locals,
    globalAssociations: () => globals,
    peerNames: () => peers,
    pepper: () => PEPPER,
  };
  const items = [...planAssociations(rows, { serverName: SELF, now: NOW, report })].map(({ item }) => item);
  return { items, report };
}

describe('planning associations from a database older than Sydent 2.4 (mixed case)', () => {
  it('keeps the newest binding per folded address and names the duplicates it dropped', () => {
    const { items, report } = plan(
      [local(1, 'Alice@Example.ORG', '@old:hs', 100), local(2, 'alice@example.org', '@new:hs', 200)],
      [
        global(1, SELF, 1, 'Alice@Example.ORG', '@old:hs', 100),
        global(2, SELF, 2, 'alice@example.org', '@new:hs', 200),
      ],
    );
    assert.deepEqual(
      items.map(({ importId, association }) => [importId, association.address, association.mxid]),
      [[`sydent:${SELF}:2`, 'alice@example.org', '@new:hs']],
    );
    const [reason, { examples }] = report.leftOut.associations.entries()[0] ?? ['', { examples: [] }];
    assert.equal(reason, REASONS.caseDuplicate);
    assert.match(
      examples[0] ?? '',
      /^alice@example\.org: kept local 2 .*@new:hs; dropped local 1 email Alice@Example\.ORG → @old:hs$/,
    );
    assert.equal(report.leftOut.associations.count(REASONS.supersededOwn), 1, 'and the loser’s global row');
    // Sydent hashed the stored (unfolded) address: flagged, for the local and the global row.
    assert.equal(report.notes.count(NOTES.hashMismatch), 2);
  });

  it('re-signs a newest binding stored in mixed case over its folded address; a tie goes to the higher id', () => {
    const { items, report } = plan(
      [local(3, 'bob@example.org', '@a:hs', 100), local(4, 'Bob@Example.org', '@b:hs', 100)],
      [global(3, SELF, 3, 'bob@example.org', '@a:hs', 100), global(4, SELF, 4, 'Bob@Example.org', '@b:hs', 100)],
    );
    assert.equal(items.length, 1);
    assert.equal(items[0]?.importId, `sydent:${SELF}:4`);
    assert.equal(items[0]?.association.address, 'bob@example.org');
    assert.equal(items[0]?.association.signatures, undefined, 'the old signature covered Bob@Example.org');
    assert.equal(report.notes.count(NOTES.refolded), 1);
  });

  it('lets a newer local tombstone in another case unbind the address', () => {
    const { items, report } = plan(
      [local(1, 'Carol@Example.org', '@c:hs', 100), local(2, 'carol@example.org', null, 200)],
      [global(1, SELF, 1, 'Carol@Example.org', '@c:hs', 100)],
    );
    assert.deepEqual(items, []);
    assert.equal(report.leftOut.associations.count(REASONS.unbound), 1);
    assert.equal(report.leftOut.associations.count(REASONS.tombstone), 1);
  });

  it('joins a renumbered local row (before schema v1) to its global row by content', () => {
    const { items } = plan(
      [local(7, 'dan@example.org', '@d:hs', 100)],
      [global(1, SELF, 2, 'dan@example.org', '@d:hs', 100)],
    );
    assert.deepEqual(
      items.map(({ importId }) => importId),
      [`sydent:${SELF}:2`],
    );
    assert.equal(items[0]?.association.signatures?.[SELF]?.['ed25519:0'], 'sig-1');
  });

  it('does not join by originId alone when a renumbered id points at another user’s row', () => {
    // Renumbered before schema v1: global 1's originId 7 now names local 7, which bound someone else.
    const stale = global(1, SELF, 7, 'dan@example.org', '@other:hs', 50);
    const current = global(2, SELF, 3, 'Dan@example.org', '@d:hs', 100);
    for (const globals of [
      [stale, current],
      [current, stale],
    ]) {
      const { items, report } = plan([local(7, 'Dan@example.org', '@d:hs', 100)], globals);
      assert.deepEqual(
        items.map(({ importId, association }) => [importId, association.mxid]),
        [[`sydent:${SELF}:3`, '@d:hs']],
      );
      const superseded = report.leftOut.associations.entries().find(([reason]) => reason === REASONS.supersededOwn);
      assert.match(superseded?.[1].examples.join('\n') ?? '', /^global 1 .*@other:hs$/);
      assert.equal(report.leftOut.associations.count(REASONS.duplicateOwn), 0);
    }
  });

  it('signs anew an own live binding whose global row is missing', () => {
    const { items, report } = plan([local(5, 'Eve@Example.org', '@e:hs', 100)], []);
    assert.deepEqual(items, [
      {
        importId: `sydent:${SELF}:5`,
        association: {
          medium: 'email',
          address: 'eve@example.org',
          mxid: '@e:hs',
          ts: 100,
          not_before: 100,
          not_after: 100 + HUNDRED_YEARS,
        },
      },
    ]);
    assert.equal(report.notes.count(NOTES.unsigned), 1);
  });
});

describe('planning peers’ associations', () => {
  it('lets a newer peer row win over the own binding, and the newest valid peer row over older ones', () => {
    const expired = { ...global(12, PEER, 3, 'fay@example.org', '@x:peer', 900), notAfter: NOW - 1 };
    expired.sgAssoc = JSON.stringify({ ...JSON.parse(expired.sgAssoc), not_after: NOW - 1 });
    const { items, report } = plan(
      [local(1, 'fay@example.org', '@mine:hs', 100)],
      [
        global(1, SELF, 1, 'fay@example.org', '@mine:hs', 100),
        global(10, PEER, 1, 'Fay@Example.org', '@older:peer', 150),
        global(11, PEER, 2, 'fay@example.org', '@newer:peer', 200),
        expired,
      ],
    );
    assert.deepEqual(
      items.map(({ association }) => association.mxid),
      ['@newer:peer'],
    );
    assert.equal(report.leftOut.associations.count(REASONS.shadowedByPeer), 1);
    assert.equal(report.leftOut.associations.count(REASONS.shadowedByNewerPeer), 1);
    assert.equal(report.leftOut.associations.count(REASONS.expired), 1, 'an expired row shadows nothing');
  });

  it('keeps a row from an origin that is neither this server nor a peer, and flags it', () => {
    const { items, report } = plan([], [global(1, 'old-name.example', 4, 'gil@example.org', '@g:hs', 100)]);
    assert.equal(items[0]?.importId, 'sydent:old-name.example:4');
    assert.equal(report.notes.count(NOTES.unknownOrigin), 1);
  });

  it('drops a peer’s signature that covered leaked fields, and leaves out a row whose JSON is broken', () => {
    const leaky = global(1, PEER, 9, 'hal@example.org', '@h:peer', 100, { invites: [{ token: 'x' }] });
    const broken = { ...global(2, PEER, 10, 'ida@example.org', '@i:peer', 100), sgAssoc: '{"medium": "email"' };
    const { items, report } = plan([], [leaky, broken]);
    assert.equal(items.length, 1);
    assert.equal(items[0]?.association.signatures, undefined);
    assert.ok(!('invites' in (items[0]?.association ?? {})));
    assert.equal(report.leftOut.associations.count(REASONS.badJson), 1);
  });
});
