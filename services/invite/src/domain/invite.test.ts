import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { type InviteCommand, type InviteEvent, inviteDecider, isCarriable, type StoredInvite } from './invite.js';

const given = deciderSpec(inviteDecider);
const T0 = new Date('2026-01-15T10:00:00Z');
const DAY = 86_400_000;
const daysLater = (days: number) => new Date(T0.getTime() + days * DAY);
const ID = 'invite-id';
const SEALED = { keyId: 'k', nonce: Buffer.alloc(12), ciphertext: Buffer.alloc(16) };
const invite = (): StoredInvite => ({
  inviteId: ID,
  medium: 'email',
  addrKey: 'addr-key',
  senderKey: 'sender-key',
  ephemeralPublicKey: 'ephemeral',
  secrets: SEALED,
  mail: SEALED,
  brand: '',
  expiresAt: daysLater(30),
  longTermKeyId: 'ed25519:0',
});

const stored = (): InviteEvent => ({ type: 'InviteStored', data: { ...invite(), at: T0 } });
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
});
