import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import {
  type AssociationCommand,
  type AssociationEvent,
  associationDecider,
  type Binding,
  importVerdict,
  keysToErase,
} from './association.js';

const given = deciderSpec(associationDecider);
const T0 = new Date('2026-01-15T10:00:00Z');
const ADDR = 'addr-key';
const SEALED = { keyId: 'k', nonce: Buffer.alloc(12), ciphertext: Buffer.alloc(16) };
const binding = (bindingId: string, userKey: string, ts = T0.getTime(), source: Binding['source'] = 'session') => ({
  addrKey: ADDR,
  medium: 'email' as const,
  bindingId,
  userKey,
  association: SEALED,
  clientLowercaseAddress: null,
  ts,
  notBefore: ts,
  notAfter: ts + 1,
  source,
});
const bound = (bindingId: string, userKey: string, ts?: number, source?: Binding['source']): AssociationEvent => ({
  type: 'AssociationBound',
  data: { ...binding(bindingId, userKey, ts, source), at: T0 },
});
const unbound = (
  bindingId: string,
  authority: 'session' | 'homeserver' | 'admin' = 'session',
  at = T0,
): AssociationEvent => ({
  type: 'AssociationUnbound',
  data: { addrKey: ADDR, bindingId, authority, at },
});
const importing = (bindingId: string, userKey: string, ts: number): AssociationCommand => ({
  type: 'ImportBinding',
  binding: binding(bindingId, userKey, ts, 'import'),
  now: T0,
});
const importedAt = (bindingId: string, userKey: string, ts: number) => bound(bindingId, userKey, ts, 'import');
const EARLIER = T0.getTime() - 60_000;
const LATER = T0.getTime() + 60_000;
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
    assert.deepEqual(after.current, { bindingId: 'b2', userKey: 'bob', ts: T0.getTime() });
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

describe('an imported binding', () => {
  it('binds an unbound 3PID', () =>
    given([])
      .when(importing('i1', 'alice', EARLIER))
      .then([importedAt('i1', 'alice', EARLIER)]));

  it('replaces an older binding, which is then the one to erase', () => {
    const when = given([bound('b1', 'bob', EARLIER)]).when(importing('i1', 'alice', T0.getTime()));
    when.then([importedAt('i1', 'alice', T0.getTime())]);
    assert.deepEqual(keysToErase(given([bound('b1', 'bob', EARLIER)]).state, when.stateAfter()), ['b1']);
  });

  it('is refused when the 3PID has a binding as new or newer', () => {
    given([bound('b1', 'bob', T0.getTime())])
      .when(importing('i1', 'alice', T0.getTime()))
      .thenThrows({ errcode: 'M_THREEPID_IN_USE' });
    given([bound('b1', 'bob', LATER)])
      .when(importing('i1', 'alice', T0.getTime()))
      .thenThrows({ errcode: 'M_THREEPID_IN_USE' });
    assert.deepEqual(importVerdict(given([bound('b1', 'bob', LATER)]).state, 'i1', T0.getTime()), {
      kind: 'superseded',
      reason: 'a newer binding exists',
    });
  });

  it('is refused when the 3PID was unbound after it was made, and binds when the unbind came before', () => {
    const endedAt = new Date(T0.getTime());
    given([bound('b1', 'bob', EARLIER), unbound('b1', 'session', endedAt)])
      .when(importing('i1', 'alice', EARLIER))
      .thenThrows({ errcode: 'M_THREEPID_IN_USE' });
    given([bound('b1', 'bob', EARLIER), unbound('b1', 'session', endedAt)])
      .when(importing('i1', 'alice', LATER))
      .then([importedAt('i1', 'alice', LATER)]);
  });

  it('changes nothing when imported again: present while current, and still after it was replaced or unbound', () => {
    given([importedAt('i1', 'alice', EARLIER)])
      .when(importing('i1', 'alice', EARLIER))
      .then([]);
    const replaced = given([importedAt('i1', 'alice', EARLIER), bound('b2', 'bob', LATER)]);
    replaced.when(importing('i1', 'alice', EARLIER)).then([]);
    assert.deepEqual(importVerdict(replaced.state, 'i1', EARLIER), { kind: 'present' });
    given([importedAt('i1', 'alice', EARLIER), unbound('i1')])
      .when(importing('i1', 'alice', EARLIER))
      .then([]);
  });
});
