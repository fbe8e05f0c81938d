import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { type PepperCommand, type PepperEvent, pepperDecider } from './pepper.js';

const given = deciderSpec(pepperDecider);
const T0 = new Date('2026-01-15T10:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const DAY = 86_400_000;
const created = (pepperId: string, at = T0): PepperEvent => ({
  type: 'PepperCreated',
  data: { pepperId, pepper: `pepper-${pepperId}`, at },
});
const retired = (pepperId: string, at = T0): PepperEvent => ({ type: 'PepperRetired', data: { pepperId, at } });
const fresh = (pepperId: string, now = T0) => ({ pepperId, pepper: `pepper-${pepperId}`, now });
const ensure = (pepperId: string): PepperCommand => ({ type: 'EnsurePepper', ...fresh(pepperId) });
const rotateIfDue = (pepperId: string, now: Date): PepperCommand => ({
  type: 'RotateIfDue',
  intervalMs: DAY,
  ...fresh(pepperId, now),
});

describe('the pepper aggregate', () => {
  it('makes a pepper when there is none', () =>
    given([])
      .when(ensure('p1'))
      .then([created('p1')]));

  it('makes no second pepper when one exists (the replica that lost the race)', () =>
    given([created('p1')])
      .when(ensure('p2'))
      .then([]));

  it('makes a new pepper once the newest is a rotation interval old, and not before', () => {
    given([created('p1')])
      .when(rotateIfDue('p2', later(DAY - 1)))
      .then([]);
    given([created('p1')])
      .when(rotateIfDue('p2', later(DAY)))
      .then([created('p2', later(DAY))]);
  });

  it('rotates on command at any time', () =>
    given([created('p1')])
      .when({ type: 'Rotate', ...fresh('p2') })
      .then([created('p2')]));

  it('retires every live pepper older than the current one', () =>
    given([created('p1'), created('p2'), created('p3')])
      .when({ type: 'RetireOlder', currentPepperId: 'p3', now: T0 })
      .then([retired('p1'), retired('p2')]));

  it('retires nothing twice, and nothing newer than the current one', () =>
    given([created('p1'), created('p2'), retired('p1'), created('p3')])
      .when({ type: 'RetireOlder', currentPepperId: 'p2', now: T0 })
      .then([]));

  it('makes a new pepper when every pepper was retired', () =>
    given([created('p1'), retired('p1')])
      .when(ensure('p2'))
      .then([created('p2')]));

  it('adopts an imported pepper as the newest, unless it was ever created here', () => {
    const adopt = (pepperId: string, pepper: string): PepperCommand => ({ type: 'Adopt', pepperId, pepper, now: T0 });
    const sydent: PepperEvent = { type: 'PepperCreated', data: { pepperId: 'p2', pepper: 'nGwAB', at: T0 } };
    given([created('p1')])
      .when(adopt('p2', 'nGwAB'))
      .then([sydent]);
    given([created('p1'), sydent])
      .when(adopt('p3', 'nGwAB'))
      .then([]);
    // Rotated away since (and even retired): importing the same deployment again changes nothing.
    given([sydent, created('p1')])
      .when(adopt('p3', 'nGwAB'))
      .then([]);
    given([sydent, created('p1'), retired('p2')])
      .when(adopt('p3', 'nGwAB'))
      .then([]);
  });
});
