import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnvelope, encodeEnvelope } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { AccountEvent } from '../domain/account.js';
import type { SessionEvent } from '../domain/session.js';
import type { TermsEvent } from '../domain/terms.js';
import { accountCodec as accountEvents } from './account-events.js';
import { sessionCodec as sessionEvents } from './session-events.js';
import { termsCodec as termsEvents } from './terms-events.js';

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
          sealedClientLowercaseAddress: null,
          at: AT,
        },
      },
      {
        type: 'SessionStarted',
        data: {
          sid: 's',
          medium: 'email',
          addrKey: 'a',
          clientSecretDigest: 'c',
          sealedAddress: sealed('address'),
          sealedNextLink: sealed('next_link'),
          sealedClientLowercaseAddress: sealed('client_lowercase_address'),
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
          imported: false,
          at: AT,
        },
      },
      {
        type: 'TokenIssued',
        data: {
          sid: 's',
          sendAttempt: -1,
          tokenDigest: 't2',
          sealedToken: sealed('token'),
          sealedClientIp: null,
          sealedClientSecret: sealed('client_secret'),
          deliveryId: 's-imported',
          brand: '',
          country: '',
          imported: true,
          at: AT,
        },
      },
      { type: 'TokenRejected', data: { sid: 's', failedAttempts: 2, at: AT } },
      { type: 'SessionLocked', data: { sid: 's', at: AT } },
      { type: 'SessionValidated', data: { sid: 's', at: AT } },
      { type: 'SessionImportedAs', data: { sid: 's', importedSid: '42', at: AT } },
    ];
    const stored = overTheWire(events.map(sessionEvents.toStoredEvent));
    assert.deepEqual(
      stored.map((event) => event.type),
      [
        'SessionStarted',
        'SessionStarted',
        'TokenIssued',
        'TokenIssued',
        'TokenRejected',
        'SessionLocked',
        'SessionValidated',
        'SessionImportedAs',
      ],
    );
    assert.deepEqual(sessionEvents.fromStoredEvents(stored), events);
  });

  it('keep every field of the account and terms events', () => {
    const accounts: AccountEvent[] = [
      {
        type: 'AccountRegistered',
        data: { holder: { sealedUserId: sealed('user'), userKey: 'uk' }, matrixServerName: 'b', at: AT },
      },
      { type: 'AccountLoggedOut', data: { at: AT } },
    ];
    assert.deepEqual(accountEvents.fromStoredEvents(overTheWire(accounts.map(accountEvents.toStoredEvent))), accounts);
    const terms: TermsEvent[] = [{ type: 'TermsAccepted', data: { userKey: 'uk', urls: ['u1', 'u2'], at: AT } }];
    assert.deepEqual(termsEvents.fromStoredEvents(overTheWire(terms.map(termsEvents.toStoredEvent))), terms);
  });

  it('never write a user ID in plaintext, and leave the deprecated user_id field empty', () => {
    const plaintext: AccountEvent = {
      type: 'AccountRegistered',
      data: { holder: { plaintextUserId: '@a:b' }, matrixServerName: 'b', at: AT },
    };
    assert.throws(() => accountEvents.toStoredEvent(plaintext), TypeError);
    const registered = accountEvents.toStoredEvent({
      type: 'AccountRegistered',
      data: { holder: { sealedUserId: sealed('user'), userKey: 'uk' }, matrixServerName: 'b', at: AT },
    });
    const accepted = termsEvents.toStoredEvent({ type: 'TermsAccepted', data: { userKey: 'uk', urls: ['u'], at: AT } });
    for (const { payload } of overTheWire([registered, accepted])) {
      assert.ok(payload?.$case === 'accountRegistered' || payload?.$case === 'termsAccepted');
      assert.equal(payload.value.userId, '');
    }
  });

  it('read the plaintext user ID of events written before it was sealed', () => {
    const old: Event = {
      ...accountEvents.toStoredEvent({ type: 'AccountLoggedOut', data: { at: AT } }),
      type: 'AccountRegistered',
      payload: {
        $case: 'accountRegistered',
        value: { userId: '@old:b', matrixServerName: 'b', sealedUserId: undefined, userKey: '' },
      },
    };
    assert.deepEqual(accountEvents.fromStoredEvents(overTheWire([old])), [
      { type: 'AccountRegistered', data: { holder: { plaintextUserId: '@old:b' }, matrixServerName: 'b', at: AT } },
    ]);
    const oldTerms: Event = {
      ...old,
      type: 'TermsAccepted',
      payload: { $case: 'termsAccepted', value: { userId: '@old:b', urls: ['u'], userKey: '' } },
    };
    assert.deepEqual(termsEvents.fromStoredEvents(overTheWire([oldTerms])), [
      { type: 'TermsAccepted', data: { userKey: '', urls: ['u'], at: AT } },
    ]);
  });

  it("skip other aggregates' events", () => {
    const loggedOut = accountEvents.toStoredEvent({ type: 'AccountLoggedOut', data: { at: AT } });
    assert.deepEqual(sessionEvents.fromStoredEvents(overTheWire([loggedOut])), []);
  });
});
