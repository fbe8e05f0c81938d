import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { type OnbindCommand, type OnbindEvent, type OnbindRequest, onbindDecider } from './onbind.js';

const given = deciderSpec(onbindDecider);
const T0 = new Date('2026-01-15T10:00:00Z');
const SEALED = { keyId: 'k', nonce: Buffer.alloc(12), ciphertext: Buffer.alloc(16) };
const request = (inviteIds = ['i1', 'i2']): OnbindRequest => ({
  onbindId: 'b1',
  addrKey: 'addr-key',
  bindingId: 'b1',
  inviteIds,
  call: SEALED,
  giveUpAt: new Date(T0.getTime() + 7 * 86_400_000),
});
const requested = (): OnbindEvent => ({ type: 'OnbindRequested', data: { ...request(), at: T0 } });
const requestOnbind = (inviteIds?: string[]): OnbindCommand => ({
  type: 'RequestOnbind',
  request: request(inviteIds),
  now: T0,
});

describe('the onbind aggregate', () => {
  it('is requested with the invites it carries', () => given([]).when(requestOnbind()).then([requested()]));

  it('is requested once: asking again for the same binding records nothing', () =>
    given([requested()]).when(requestOnbind()).then([]));

  it('is never requested without an invite', () =>
    given([])
      .when(requestOnbind([]))
      .thenThrows(/at least one invite/));
});
