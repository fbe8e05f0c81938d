import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { type InviteCommand, type InviteEvent, inviteDecider, isClaimedBy, type StoredInvite } from './invite.js';

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

  it('is claimed by the first onbind call of its address', () => {
    const when = given([stored()]).when(claim('b1'));
    when.then([claimed('b1')]);
    assert.equal(isClaimedBy(when.stateAfter(), 'b1'), true);
  });

  it('records nothing when the same call claims it again (a redelivery), and stays that call’s', () => {
    const when = given([stored(), claimed('b1')]).when(claim('b1'));
    when.then([]);
    assert.equal(isClaimedBy(when.stateAfter(), 'b1'), true);
  });

  it('is not claimed by a second call once another has it', () => {
    const when = given([stored(), claimed('b1')]).when(claim('b2'));
    when.then([]);
    assert.equal(isClaimedBy(when.stateAfter(), 'b2'), false);
  });

  it('is not claimed once it expired (30 days after it was stored)', () => {
    given([stored()])
      .when(claim('b1', daysLater(30)))
      .then([]);
    given([stored()])
      .when(claim('b1', new Date(daysLater(30).getTime() - 1)))
      .then([claimed('b1', new Date(daysLater(30).getTime() - 1))]);
  });

  it('is not claimed when it was revoked, or never stored', () => {
    given([stored(), revoked()]).when(claim('b1')).then([]);
    assert.equal(isClaimedBy(given([]).when(claim('b1')).stateAfter(), 'b1'), false);
  });

  it('is revoked while pending or claimed, and only once', () => {
    given([stored()]).when(revoke()).then([revoked()]);
    given([stored(), claimed('b1')])
      .when(revoke())
      .then([revoked()]);
    given([stored(), revoked()]).when(revoke()).then([]);
    given([]).when(revoke()).then([]);
  });

  it('is no longer carried by its call once revoked', () =>
    assert.equal(isClaimedBy(given([stored(), claimed('b1'), revoked()]).state, 'b1'), false));
});
