import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvelope, encodeEnvelope } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { AccountEvent } from '../domain/account.js';
import type { SessionEvent } from '../domain/session.js';
import type { TermsEvent } from '../domain/terms.js';
import * as accountEvents from './account-events.js';
import * as sessionEvents from './session-events.js';
import * as termsEvents from './terms-events.js';

const AT = new Date('2025-01-15T10:00:00Z');
const sealed = (label: string) => ({
  keyId: 'k1',
  nonce: Buffer.from(label.padEnd(12, '.')),
  ciphertext: Buffer.from(`sealed ${label}`),
});

// Through the envelope's bytes and back, as a load after an append sees them.
const overTheWire = (events: Event[]) =>
  decodeEnvelope(
    encodeEnvelope({
      decisionId: 'd',
      aggregate: 'session.s',
      correlationId: 'c',
      recordedAt: AT,
      schemaVersion: 1,
      events,
    }),
  ).events;

describe('stored events', () => {
  it('keep every field of the session events', () => {
    const events: SessionEvent[] = [
      {
        type: 'SessionStarted',
        data: {
          sid: 's',
          medium: 'msisdn',
          addrKey: 'a',
          clientSecretDigest: 'c',
          sealedAddress: sealed('address'),
          sealedNextLink: null,
          at: AT,
        },
      },
      {
        type: 'TokenIssued',
        data: {
          sid: 's',
          sendAttempt: 3,
          tokenDigest: 't',
          sealedToken: sealed('token'),
          sealedClientIp: sealed('client_ip'),
          sealedClientSecret: sealed('client_secret'),
          deliveryId: 's-3-x',
          brand: 'b',
          country: 'GB',
          at: AT,
        },
      },
      { type: 'TokenRejected', data: { sid: 's', failedAttempts: 2, at: AT } },
      { type: 'SessionLocked', data: { sid: 's', at: AT } },
      { type: 'SessionValidated', data: { sid: 's', at: AT } },
    ];
    const stored = overTheWire(events.map(sessionEvents.toStoredEvent));
    assert.deepEqual(
      stored.map((event) => event.type),
      ['SessionStarted', 'TokenIssued', 'TokenRejected', 'SessionLocked', 'SessionValidated'],
    );
    assert.deepEqual(sessionEvents.fromStoredEvents(stored), events);
  });

  it('keep every field of the account and terms events', () => {
    const accounts: AccountEvent[] = [
      { type: 'AccountRegistered', data: { userId: '@a:b', matrixServerName: 'b', at: AT } },
      { type: 'AccountLoggedOut', data: { at: AT } },
    ];
    assert.deepEqual(accountEvents.fromStoredEvents(overTheWire(accounts.map(accountEvents.toStoredEvent))), accounts);
    const terms: TermsEvent[] = [{ type: 'TermsAccepted', data: { userId: '@a:b', urls: ['u1', 'u2'], at: AT } }];
    assert.deepEqual(termsEvents.fromStoredEvents(overTheWire(terms.map(termsEvents.toStoredEvent))), terms);
  });

  it("skip other aggregates' events", () => {
    const loggedOut = accountEvents.toStoredEvent({ type: 'AccountLoggedOut', data: { at: AT } });
    assert.deepEqual(sessionEvents.fromStoredEvents(overTheWire([loggedOut])), []);
  });
});
