import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import {
  type AssociationCommand,
  type AssociationEvent,
  associationDecider,
  type Binding,
  keysToErase,
} from './association.js';

const given = deciderSpec(associationDecider);
const T0 = new Date('2026-01-15T10:00:00Z');
const ADDR = 'addr-key';
const SEALED = { keyId: 'k', nonce: Buffer.alloc(12), ciphertext: Buffer.alloc(16) };
const binding = (bindingId: string, userKey: string): Binding => ({
  addrKey: ADDR,
  medium: 'email',
  bindingId,
  userKey,
  association: SEALED,
  clientLowercaseAddress: null,
  ts: T0.getTime(),
  notBefore: T0.getTime(),
  notAfter: T0.getTime() + 1,
  source: 'session',
});
const bound = (bindingId: string, userKey: string): AssociationEvent => ({
  type: 'AssociationBound',
  data: { ...binding(bindingId, userKey), at: T0 },
});
const unbound = (bindingId: string, authority: 'session' | 'homeserver' | 'admin' = 'session'): AssociationEvent => ({
  type: 'AssociationUnbound',
  data: { addrKey: ADDR, bindingId, authority, at: T0 },
});
const bind = (bindingId: string, userKey: string): AssociationCommand => ({
  type: 'Bind',
  binding: binding(bindingId, userKey),
  now: T0,
});
const unbind = (
  userKey: string | null,
  authority: 'session' | 'homeserver' | 'admin' = 'session',
): AssociationCommand => ({
  type: 'Unbind',
  addrKey: ADDR,
  userKey,
  authority,
  now: T0,
});

describe('the association aggregate', () => {
  it('binds an unbound 3PID', () =>
    given([])
      .when(bind('b1', 'alice'))
      .then([bound('b1', 'alice')]));

  it("replaces someone else's binding, and the replaced binding is the one to erase", () => {
    const when = given([bound('b1', 'alice')]).when(bind('b2', 'bob'));
    when.then([bound('b2', 'bob')]);
    const after = when.stateAfter();
    assert.deepEqual(after.current, { bindingId: 'b2', userKey: 'bob' });
    assert.deepEqual(keysToErase(given([bound('b1', 'alice')]).state, after), ['b1']);
  });

  it('ends the binding when its user unbinds', () =>
    given([bound('b1', 'alice')])
      .when(unbind('alice', 'homeserver'))
      .then([unbound('b1', 'homeserver')]));

  it('changes nothing when another user unbinds, or nothing is bound', () => {
    given([bound('b1', 'alice')])
      .when(unbind('bob'))
      .then([]);
    given([]).when(unbind('alice')).then([]);
  });

  it('lets an admin unbind whoever is bound', () =>
    given([bound('b1', 'alice')])
      .when(unbind(null, 'admin'))
      .then([unbound('b1', 'admin')]));

  it('still names the ended binding to erase when an unbind is retried (crash between append and erase)', () => {
    const state = given([bound('b1', 'alice'), unbound('b1')]).state;
    const retried = given([bound('b1', 'alice'), unbound('b1')]).when(unbind('alice'));
    retried.then([]);
    assert.deepEqual(keysToErase(state, retried.stateAfter()), ['b1']);
  });

  it('never names the current binding to erase', () => {
    const before = given([bound('b1', 'alice'), bound('b2', 'bob')]).state;
    const after = given([bound('b1', 'alice'), bound('b2', 'bob')])
      .when(bind('b3', 'carol'))
      .stateAfter();
    assert.deepEqual(keysToErase(before, after).sort(), ['b1', 'b2']);
  });
});
