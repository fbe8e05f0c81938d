import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProjectedMessage } from '@tessera/db';
import { silentLogger } from '@tessera/event-store';
import { ThreepidMedium } from '@tessera/proto/tessera/events/v1/session';
import { applyInviteSteps, type InviteRow, type InviteStep, type OnbindRow } from './invite-read-model.js';
import { inviteStepsOf } from './invites-projection.js';

const AT = new Date('2026-12-03T10:00:00Z');
const stored = (inviteId: string, seq = 1): InviteStep => ({
  kind: 'stored',
  row: {
    inviteId,
    medium: 'email',
    addrKey: 'addr',
    senderKey: 'sender',
    ephemeralPublicKey: `key-${inviteId}`,
    status: 'pending',
    onbindId: null,
    storedAt: AT,
    expiresAt: new Date(AT.getTime() + 1_000),
    storedSeq: seq,
  },
});
const claimed = (inviteId: string, onbindId: string | null): InviteStep => ({ kind: 'claimed', inviteId, onbindId });
const revoked = (inviteId: string): InviteStep => ({ kind: 'revoked', inviteId });
const requested = (onbindId: string, inviteIds: string[], seq = 10): InviteStep => ({
  kind: 'requested',
  row: {
    onbindId,
    addrKey: 'addr',
    status: 'requested',
    attempts: 0,
    requestedAt: AT,
    giveUpAt: AT,
    requestedSeq: seq,
  },
  inviteIds,
});
const started = (onbindId: string, attempt: number): InviteStep => ({ kind: 'attemptStarted', onbindId, attempt });
const ended = (onbindId: string, outcome: 'delivered' | 'abandoned'): InviteStep => ({
  kind: 'ended',
  onbindId,
  outcome,
});

/** Applies the steps to empty tables, batch by batch (each batch sees the rows the ones before wrote). */
function project(batches: InviteStep[][]) {
  const invites = new Map<string, InviteRow>();
  const onbinds = new Map<string, OnbindRow>();
  for (const steps of batches) {
    // As the projection does: a batch works on copies of the rows it loaded.
    const loadedInvites = new Map([...invites].map(([id, row]) => [id, { ...row }]));
    const loadedOnbinds = new Map([...onbinds].map(([id, row]) => [id, { ...row }]));
    const changed = applyInviteSteps(steps, loadedInvites, loadedOnbinds);
    for (const row of changed.invites) invites.set(row.inviteId, row);
    for (const row of changed.onbinds) onbinds.set(row.onbindId, row);
  }
  const status = Object.fromEntries(
    [...invites.values()].map((row) => [row.inviteId, `${row.status} ${row.onbindId}`]),
  );
  const calls = Object.fromEntries([...onbinds.values()].map((row) => [row.onbindId, `${row.status} ${row.attempts}`]));
  return { status, calls };
}

describe('the invites read model rules', () => {
  it('takes an invite from pending to claimed to delivered with its call, attempts the highest started', () => {
    assert.deepEqual(
      project([
        [stored('a'), stored('b'), claimed('a', 'o'), claimed('b', 'o'), requested('o', ['a', 'b'])],
        [started('o', 1), started('o', 2), started('o', 1), ended('o', 'delivered')],
      ]),
      { status: { a: 'delivered o', b: 'delivered o' }, calls: { o: 'delivered 2' } },
    );
  });

  it('has OnbindRequested claim the invites it names that are still pending, and an abandoned call abandon them', () => {
    assert.deepEqual(
      project([[stored('a'), stored('b'), stored('c'), requested('o', ['a', 'b']), ended('o', 'abandoned')]]),
      { status: { a: 'abandoned o', b: 'abandoned o', c: 'pending null' }, calls: { o: 'abandoned 0' } },
    );
  });

  it('keeps an invite claimed before its import claimed by no call: no call claims it or ends it', () => {
    assert.deepEqual(
      project([
        [stored('a'), claimed('a', null), stored('b')],
        [claimed('a', 'o'), requested('o', ['a', 'b']), ended('o', 'delivered')],
      ]),
      { status: { a: 'claimed null', b: 'delivered o' }, calls: { o: 'delivered 0' } },
    );
  });

  it('claims only a pending invite: a repeat or a second call changes nothing', () => {
    assert.deepEqual(
      project([[stored('a'), claimed('a', 'o'), claimed('a', 'o'), claimed('a', 'p'), requested('p', ['a'])]]),
      { status: { a: 'claimed o' }, calls: { p: 'requested 0' } },
    );
  });

  it('keeps a revoked invite revoked, claimed or not, when its call ends; an unclaimed revoked one is never claimed', () => {
    assert.deepEqual(
      project([
        [stored('a'), stored('b'), claimed('a', 'o'), revoked('a'), revoked('b'), requested('o', ['a', 'b'])],
        [ended('o', 'delivered')],
      ]),
      { status: { a: 'revoked o', b: 'revoked null' }, calls: { o: 'delivered 0' } },
    );
  });

  it('stores an invite and requests a call once: a second event of the same id keeps the first row', () => {
    const invites = new Map<string, InviteRow>();
    const onbinds = new Map<string, OnbindRow>();
    applyInviteSteps([stored('a', 1), stored('a', 7), requested('o', [], 2), requested('o', [], 9)], invites, onbinds);
    assert.equal(invites.get('a')?.storedSeq, 1);
    assert.equal(onbinds.get('o')?.requestedSeq, 2);
  });

  it('ends a call once: an outcome after the first changes nothing', () => {
    assert.deepEqual(
      project([[stored('a'), requested('o', ['a']), ended('o', 'delivered')], [ended('o', 'abandoned')]]),
      {
        status: { a: 'delivered o' },
        calls: { o: 'delivered 0' },
      },
    );
  });

  it('answers only the rows that changed, and gives the same rows however the steps are cut into batches', () => {
    const steps = [
      stored('a'),
      stored('b'),
      stored('c'),
      claimed('a', 'o'),
      revoked('c'),
      requested('o', ['a', 'b']),
      started('o', 1),
      stored('d'),
      ended('o', 'delivered'),
      requested('p', ['d', 'c']),
      started('p', 3),
      ended('p', 'abandoned'),
    ];
    const whole = project([steps]);
    for (let size = 1; size < steps.length; size++) {
      const batches = Array.from({ length: Math.ceil(steps.length / size) }, (_, i) =>
        steps.slice(i * size, (i + 1) * size),
      );
      assert.deepEqual(project(batches), whole, `batches of ${size}`);
    }
    const invites = new Map<string, InviteRow>();
    const onbinds = new Map<string, OnbindRow>();
    applyInviteSteps([stored('a')], invites, onbinds);
    const again = applyInviteSteps([stored('a'), claimed('x', 'o'), started('o', 1), revoked('x')], invites, onbinds);
    assert.deepEqual(again, { invites: [], onbinds: [] });
  });
});

describe('the steps of invite events', () => {
  const message = (
    payload: NonNullable<ProjectedMessage['envelope']['events'][number]['payload']>,
  ): ProjectedMessage => ({
    seq: 42,
    subject: 'tessera.invite.x',
    timestampMs: AT.getTime() + 5_000,
    eventTypes: [],
    envelope: {
      decisionId: 'd',
      aggregate: 'invite.x',
      correlationId: 'c',
      recordedAt: new Date(AT.getTime() + 1_000),
      schemaVersion: 1,
      events: [{ eventId: 'e', type: '', occurredAt: AT, payload }],
    },
  });
  const invite = (medium: ThreepidMedium) =>
    message({
      $case: 'inviteStored',
      value: {
        inviteId: 'x',
        medium,
        addrKey: 'addr',
        senderKey: 'sender',
        ephemeralPublicKey: 'epk',
        secrets: undefined,
        mail: undefined,
        brand: '',
        expiresAt: new Date(AT.getTime() + 60_000),
        longTermKeyId: 'ed25519:0',
        imported: false,
      },
    });

  it("stores an invite with the envelope's time, its expiry and its stream sequence", () => {
    const [step] = inviteStepsOf(invite(ThreepidMedium.THREEPID_MEDIUM_EMAIL), silentLogger);
    assert.equal(step?.kind, 'stored');
    assert.deepEqual(step?.kind === 'stored' && step.row, {
      inviteId: 'x',
      medium: 'email',
      addrKey: 'addr',
      senderKey: 'sender',
      ephemeralPublicKey: 'epk',
      status: 'pending',
      onbindId: null,
      storedAt: new Date(AT.getTime() + 1_000),
      expiresAt: new Date(AT.getTime() + 60_000),
      storedSeq: 42,
    });
  });

  it('passes over an invite of a medium this build does not know (the table admits email and msisdn)', () => {
    assert.deepEqual(inviteStepsOf(invite(ThreepidMedium.THREEPID_MEDIUM_UNSPECIFIED), silentLogger), []);
  });

  it('takes nothing from a lease renewed or a failed attempt', () => {
    const renewed = message({
      $case: 'onbindLeaseRenewed',
      value: { onbindId: 'o', attempt: 1, leaseEndsAt: AT },
    });
    const failed = message({
      $case: 'onbindAttemptFailed',
      value: { onbindId: 'o', attempt: 1, reason: 'HTTP 503', httpStatus: 503, retryAt: AT },
    });
    assert.deepEqual(inviteStepsOf(renewed, silentLogger), []);
    assert.deepEqual(inviteStepsOf(failed, silentLogger), []);
  });

  it('reads an empty onbind id as a claim by no call (an invite Sydent had attempted)', () => {
    const claim = message({ $case: 'inviteClaimed', value: { inviteId: 'x', onbindId: '' } });
    assert.deepEqual(inviteStepsOf(claim, silentLogger), [{ kind: 'claimed', inviteId: 'x', onbindId: null }]);
  });

  it('takes imported ephemeral keys with their stream sequence', () => {
    const keys = message({ $case: 'ephemeralKeysImported', value: { publicKeys: ['k1', 'k2'] } });
    assert.deepEqual(inviteStepsOf(keys, silentLogger), [{ kind: 'keysImported', publicKeys: ['k1', 'k2'], seq: 42 }]);
  });
});
