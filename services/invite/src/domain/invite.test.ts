import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { nativeInvite } from '../../test-support/native-invite.js';
import { CLAIMED_BEFORE_IMPORT, type InviteCommand, type InviteEvent, inviteDecider, isCarriable } from './invite.js';

const given = deciderSpec(inviteDecider);
const T0 = new Date('2026-01-15T10:00:00Z');
const DAY = 86_400_000;
const daysLater = (days: number) => new Date(T0.getTime() + days * DAY);
const ID = 'invite-id';
const invite = () => nativeInvite(ID, daysLater(30));

const stored = (): InviteEvent => ({ type: 'InviteStored', data: { ...invite(), imported: false, at: T0 } });
const claimed = (onbindId: string, at = daysLater(1)): InviteEvent => ({
  type: 'InviteClaimed',
  data: { inviteId: ID, onbindId, at },
});
const revoked = (at = daysLater(1)): InviteEvent => ({ type: 'InviteRevoked', data: { inviteId: ID, at } });
const store = (): InviteCommand => ({ type: 'StoreInvite', invite: invite(), now: T0 });
const claim = (onbindId: string, now = daysLater(1)): InviteCommand => ({
  type: 'ClaimInvite',
  inviteId: ID,
  onbindId,
  now,
});
const revoke = (now = daysLater(1)): InviteCommand => ({ type: 'RevokeInvite', inviteId: ID, now });

// Imported from Sydent: received a day before the import (T0), attempted there or not.
const RECEIVED = daysLater(-1);
const { mail: _mail, ...importedInvite } = { ...invite(), ephemeralPublicKey: '' };
const importInvite = (attemptedAt: Date | null = null): InviteCommand => ({
  type: 'ImportInvite',
  invite: importedInvite,
  receivedAt: RECEIVED,
  attemptedAt,
});
const importedStored = (): InviteEvent => ({
  type: 'InviteStored',
  data: { ...importedInvite, mail: null, imported: true, at: RECEIVED },
});
const claimedBeforeImport = (at: Date): InviteEvent => ({
  type: 'InviteClaimed',
  data: { inviteId: ID, onbindId: CLAIMED_BEFORE_IMPORT, at },
});

describe('the invite aggregate', () => {
  it('is stored pending', () => {
    const when = given([]).when(store());
    when.then([stored()]);
    assert.equal(when.stateAfter().status, 'pending');
  });

  it('refuses a second invite with the same id', () =>
    given([stored()])
      .when(store())
      .thenThrows(/stored already/));

  it('is claimed by the onbind call that carries it', () => {
    const when = given([stored()]).when(claim('b1'));
    when.then([claimed('b1')]);
    assert.equal(when.stateAfter().status, 'claimed');
  });

  it('records nothing when a call claims it again (a redelivery) or a second call tries', () => {
    given([stored(), claimed('b1')])
      .when(claim('b1'))
      .then([]);
    const when = given([stored(), claimed('b1')]).when(claim('b2'));
    when.then([]);
    assert.equal(isCarriable(when.stateAfter(), 'b2', daysLater(1)), false);
  });

  it('may be carried while pending and unexpired, or by the call that claimed it', () => {
    const pending = given([stored()]).state;
    assert.equal(isCarriable(pending, 'b1', daysLater(1)), true);
    assert.equal(isCarriable(pending, 'b1', new Date(daysLater(30).getTime() - 1)), true);
    assert.equal(isCarriable(pending, 'b1', daysLater(30)), false, 'expired 30 days after it was stored');
    const claimedByB1 = given([stored(), claimed('b1')]).state;
    assert.equal(isCarriable(claimedByB1, 'b1', daysLater(31)), true, 'its call carries it on');
    assert.equal(isCarriable(claimedByB1, 'b2', daysLater(1)), false);
    assert.equal(isCarriable(given([stored(), revoked()]).state, 'b1', daysLater(1)), false);
  });

  it('is not claimed when it was revoked, or never stored', () => {
    given([stored(), revoked()]).when(claim('b1')).then([]);
    given([]).when(claim('b1')).then([]);
  });

  it('is revoked only while pending, and only once: a claimed invite is in its call already', () => {
    given([stored()]).when(revoke()).then([revoked()]);
    given([stored(), claimed('b1')])
      .when(revoke())
      .then([]);
    given([stored(), revoked()]).when(revoke()).then([]);
    given([]).when(revoke()).then([]);
  });

  describe('imported from Sydent', () => {
    it('is stored pending, at the time it was received there, with no mail', () => {
      const when = given([]).when(importInvite());
      when.then([importedStored()]);
      assert.equal(when.stateAfter().status, 'pending');
      assert.equal(isCarriable(when.stateAfter(), 'b1', daysLater(1)), true, 'the next binding delivers it');
    });

    it('is stored claimed by no call when Sydent had attempted it: never carried by a call of ours', () => {
      const attempted = daysLater(-0.5);
      const when = given([]).when(importInvite(attempted));
      when.then([importedStored(), claimedBeforeImport(attempted)]);
      const state = when.stateAfter();
      assert.equal(state.status, 'claimed');
      assert.equal(state.status === 'claimed' && state.onbindId, null);
      assert.equal(isCarriable(state, '', daysLater(1)), false);
      assert.equal(isCarriable(state, 'b1', daysLater(1)), false);
    });

    it('changes nothing when imported again, whatever happened to it since', () => {
      given([importedStored()]).when(importInvite()).then([]);
      given([importedStored(), claimedBeforeImport(T0)])
        .when(importInvite(T0))
        .then([]);
      given([importedStored(), claimed('b1')])
        .when(importInvite())
        .then([]);
      given([importedStored(), revoked()]).when(importInvite()).then([]);
    });

    it('is not claimed again nor revoked once Sydent had attempted it', () => {
      given([importedStored(), claimedBeforeImport(T0)])
        .when(claim('b1'))
        .then([]);
      given([importedStored(), claimedBeforeImport(T0)])
        .when(revoke())
        .then([]);
    });
  });
});
