import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import { deciderSpec } from '@tessera/test-harness';
import {
  decide,
  deliveryToCheck,
  IMPORTED_SEND_ATTEMPT,
  IncompleteCommand,
  initial,
  LIFETIME_MS,
  type NewToken,
  type Opening,
  type PreviousDelivery,
  refusalOf,
  type SessionCommand,
  type SessionEvent,
  sessionDecider,
  validatedThreepid,
} from './session.js';

const given = deciderSpec(sessionDecider);
const refused = (errcode: string) => ({ errcode });

const T0 = new Date('2025-01-15T10:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);
const hoursLater = (hours: number) => later(hours * 3_600_000);
const SID = 'c2Vzc2lvbi1pZC1vZi0yMg';
const SECRET = 'digest-of-the-client-secret';
const sealed = (label: string): Sealed => ({
  keyId: 'k1',
  nonce: Buffer.from(label.padEnd(12, '.')),
  ciphertext: Buffer.from(`sealed ${label}`),
});
const opening: Opening = {
  medium: 'email',
  addrKey: 'addr-key',
  clientSecretDigest: SECRET,
  sealedAddress: sealed('address'),
  sealedNextLink: sealed('next_link'),
  sealedClientLowercaseAddress: null,
};
const newToken = (sendAttempt: number, token: string): NewToken => ({
  tokenDigest: `digest:${token}`,
  sealedToken: sealed(token),
  sealedClientIp: null,
  sealedClientSecret: sealed('client_secret'),
  deliveryId: `${SID}-${sendAttempt}-${token}`,
  brand: '',
  country: '',
});

const started = (at = T0): SessionEvent => ({ type: 'SessionStarted', data: { ...opening, sid: SID, at } });
const issued = (sendAttempt: number, token: string, at = T0): SessionEvent => ({
  type: 'TokenIssued',
  data: { ...newToken(sendAttempt, token), sid: SID, sendAttempt, imported: false, at },
});
const validated = (at: Date): SessionEvent => ({ type: 'SessionValidated', data: { sid: SID, at } });
const rejected = (failedAttempts: number, at: Date): SessionEvent => ({
  type: 'TokenRejected',
  data: { sid: SID, failedAttempts, at },
});
const locked = (at: Date): SessionEvent => ({ type: 'SessionLocked', data: { sid: SID, at } });

const request = (
  sendAttempt: number,
  token: string,
  now = T0,
  previousDelivery: PreviousDelivery | null = null,
): SessionCommand => ({
  type: 'RequestToken',
  sid: SID,
  sendAttempt,
  previousDelivery,
  opening,
  token: newToken(sendAttempt, token),
  now,
});
/** The outcome of the delivery of `issued(sendAttempt, token)`, as read from its subject. */
const deliveryOf = (sendAttempt: number, token: string, outcome: PreviousDelivery['outcome']): PreviousDelivery => ({
  deliveryId: newToken(sendAttempt, token).deliveryId,
  outcome,
});
const submit = (token: string, now: Date, clientSecretDigest = SECRET): SessionCommand => ({
  type: 'SubmitToken',
  clientSecretDigest,
  tokenDigest: `digest:${token}`,
  maxFailures: 5,
  now,
});
const wrongTokens = (count: number, now: Date) => Array.from({ length: count }, (_, i) => rejected(i + 1, now));

describe('requesting a token', () => {
  it('starts a session and issues a token on the first request', () =>
    given([])
      .when(request(1, 't1'))
      .then([started(), issued(1, 't1')]));

  it('issues a new token when send_attempt is higher than any seen', () =>
    given([started(), issued(1, 't1')])
      .when(request(2, 't2', hoursLater(1)))
      .then([issued(2, 't2', hoursLater(1))]));

  it('sends nothing when send_attempt is equal or lower', () => {
    given([started(), issued(3, 't1')])
      .when(request(3, 't2'))
      .then([]);
    given([started(), issued(3, 't1')])
      .when(request(2, 't2'))
      .then([]);
  });

  it('takes send_attempt 0 on a new session (the initial attempt seen is -1)', () =>
    given([])
      .when(request(0, 't1'))
      .then([started(), issued(0, 't1')]));

  it('starts over after expiry with any send_attempt, forgetting the old attempts', () =>
    given([started(), issued(5, 't1')])
      .when(request(1, 't2', hoursLater(25)))
      .then([started(hoursLater(25)), issued(1, 't2', hoursLater(25))]));

  it('starts over after a lockout, even within the 24 h', () =>
    given([started(), issued(1, 't1'), ...wrongTokens(5, hoursLater(1)), locked(hoursLater(1))])
      .when(request(1, 't2', hoursLater(2)))
      .then([started(hoursLater(2)), issued(1, 't2', hoursLater(2))]));

  it('issues a token for a higher attempt on a validated session, which stays validated', () => {
    const history = [started(), issued(1, 't1'), validated(hoursLater(1))];
    given(history)
      .when(request(2, 't2', hoursLater(2)))
      .then([issued(2, 't2', hoursLater(2))]);
    assert.equal(
      given(history)
        .when(request(2, 't2', hoursLater(2)))
        .stateAfter().status,
      'validated',
    );
  });
});

describe('what a RequestToken command carries', () => {
  const without = (command: SessionCommand, fields: Partial<Record<'opening' | 'token', null>>) => ({
    ...command,
    ...fields,
  });

  it('needs no token and no opening when it sends nothing: a repeated send_attempt makes none', () =>
    given([started(), issued(3, 't1')])
      .when(without(request(3, 't2'), { opening: null, token: null }))
      .then([]));

  it('needs no opening for a session that goes on', () =>
    given([started(), issued(1, 't1')])
      .when(without(request(2, 't2'), { opening: null }))
      .then([issued(2, 't2')]));

  it('is refused as incomplete without what its decision stores: a bug of whoever made it', () => {
    given([])
      .when(without(request(1, 't1'), { opening: null }))
      .thenThrows(IncompleteCommand);
    given([started(), issued(1, 't1')])
      .when(without(request(2, 't2'), { token: null }))
      .thenThrows(IncompleteCommand);
  });
});

describe('requesting a token again after its delivery failed', () => {
  it('sends again for the same send_attempt when the mail or SMS was not sent', () =>
    given([started(), issued(1, 't1')])
      .when(request(1, 't2', hoursLater(1), deliveryOf(1, 't1', 'failed')))
      .then([issued(1, 't2', hoursLater(1))]));

  it('sends nothing for the same send_attempt when the message was sent, or is still on its way', () => {
    given([started(), issued(1, 't1')])
      .when(request(1, 't2', hoursLater(1), deliveryOf(1, 't1', 'sent')))
      .then([]);
    given([started(), issued(1, 't1')])
      .when(request(1, 't2', hoursLater(1), deliveryOf(1, 't1', 'pending')))
      .then([]);
  });

  it('counts only the outcome of the last token: one read before the session moved on says nothing', () =>
    given([started(), issued(1, 't1'), issued(1, 't2')])
      .when(request(1, 't3', hoursLater(1), deliveryOf(1, 't1', 'failed')))
      .then([]));

  it('sends nothing for a lower send_attempt, whatever became of the last delivery', () =>
    given([started(), issued(1, 't1'), issued(2, 't2')])
      .when(request(1, 't3', hoursLater(1), deliveryOf(2, 't2', 'failed')))
      .then([]));

  it("asks for the last token's delivery only when its send_attempt comes again on a live session", () => {
    const live = given([started(), issued(1, 't1')]).state;
    assert.equal(deliveryToCheck(live, 1, hoursLater(1)), newToken(1, 't1').deliveryId);
    assert.equal(deliveryToCheck(live, 2, hoursLater(1)), null);
    assert.equal(deliveryToCheck(live, 0, hoursLater(1)), null);
    assert.equal(deliveryToCheck(live, 1, hoursLater(25)), null, 'expired: it starts over anyway');
    assert.equal(deliveryToCheck(initial(), 1, T0), null);
  });
});

describe('submitting a token', () => {
  it('is validated by the token it was sent', () =>
    given([started(), issued(1, 't1')])
      .when(submit('t1', hoursLater(1)))
      .then([validated(hoursLater(1))]));

  it('is validated by the token of an earlier attempt of the same generation', () =>
    given([started(), issued(1, 't1'), issued(2, 't2')])
      .when(submit('t1', hoursLater(1)))
      .then([validated(hoursLater(1))]));

  it('accepts the right token twice, appending nothing the second time', () =>
    given([started(), issued(1, 't1'), validated(hoursLater(1))])
      .when(submit('t1', hoursLater(2)))
      .then([]));

  it('answers an unknown sid like a wrong secret: M_NO_VALID_SESSION, same message', () => {
    given([]).when(submit('t1', T0)).thenThrows(refused('M_NO_VALID_SESSION'));
    given([started(), issued(1, 't1')])
      .when(submit('t1', T0, 'another-secret'))
      .thenThrows(refused('M_NO_VALID_SESSION'));
    const messageOf = (history: SessionEvent[], secret: string) => {
      try {
        decide(submit('t1', T0, secret), given(history).state);
      } catch (err) {
        return (err as Error).message;
      }
      assert.fail('expected a refusal');
    };
    assert.equal(messageOf([], SECRET), messageOf([started(), issued(1, 't1')], 'another-secret'));
  });

  it('remembers a wrong token as TokenRejected, answered with M_TOKEN_INCORRECT', () => {
    const history = [started(), issued(1, 't1')];
    given(history)
      .when(submit('nope', hoursLater(1)))
      .then([rejected(1, hoursLater(1))]);
    assert.equal(refusalOf(decide(submit('nope', hoursLater(1)), given(history).state))?.errcode, 'M_TOKEN_INCORRECT');
    assert.equal(refusalOf([validated(T0)]), null);
  });

  it('locks after the fifth wrong token, with TokenRejected and SessionLocked', () =>
    given([started(), issued(1, 't1'), ...wrongTokens(4, hoursLater(1))])
      .when(submit('nope', hoursLater(2)))
      .then([rejected(5, hoursLater(2)), locked(hoursLater(2))]));

  it('answers M_SESSION_EXPIRED once locked, even to the right token', () =>
    given([started(), issued(1, 't1'), ...wrongTokens(5, hoursLater(1)), locked(hoursLater(1))])
      .when(submit('t1', hoursLater(2)))
      .thenThrows(refused('M_SESSION_EXPIRED')));

  it('expires 24 h after its last change', () => {
    given([started(), issued(1, 't1')])
      .when(submit('t1', later(LIFETIME_MS)))
      .then([validated(later(LIFETIME_MS))]);
    given([started(), issued(1, 't1')])
      .when(submit('t1', later(LIFETIME_MS + 1)))
      .thenThrows(refused('M_SESSION_EXPIRED'));
  });

  it('counts the 24 h from the last token issued', () =>
    given([started(), issued(1, 't1'), issued(2, 't2', hoursLater(20))])
      .when(submit('t1', hoursLater(30)))
      .then([validated(hoursLater(30))]));

  it('does not refresh the 24 h on a wrong token', () =>
    given([started(), issued(1, 't1'), rejected(1, hoursLater(23))])
      .when(submit('t1', hoursLater(25)))
      .thenThrows(refused('M_SESSION_EXPIRED')));

  it('refuses the token of an earlier generation after starting over', () =>
    given([started(), issued(1, 't1'), started(hoursLater(25)), issued(1, 't2', hoursLater(25))])
      .when(submit('t1', hoursLater(26)))
      .then([rejected(1, hoursLater(26))]));

  it('refuses a wrong token on a validated session without counting it', () =>
    given([started(), issued(1, 't1'), validated(hoursLater(1))])
      .when(submit('nope', hoursLater(2)))
      .thenThrows(refused('M_TOKEN_INCORRECT')));
});

describe('checking a validated session (getValidated3pid)', () => {
  it('gives the medium, the sealed address and validated_at', () =>
    assert.deepEqual(
      validatedThreepid(given([started(), issued(1, 't1'), validated(hoursLater(1))]).state, SECRET, hoursLater(2)),
      {
        medium: 'email',
        sealedAddress: sealed('address'),
        sealedClientLowercaseAddress: null,
        validatedAt: hoursLater(1),
      },
    ));

  it("gives the client's lower-cased address, sealed, when the session started with one", () => {
    const typed = sealed('client_lowercase_address');
    const startedTyped: SessionEvent = {
      type: 'SessionStarted',
      data: { ...opening, sealedClientLowercaseAddress: typed, sid: SID, at: T0 },
    };
    const { state } = given([startedTyped, issued(1, 't1'), validated(hoursLater(1))]);
    assert.deepEqual(validatedThreepid(state, SECRET, hoursLater(2)).sealedClientLowercaseAddress, typed);
  });

  it('answers M_SESSION_NOT_VALIDATED before the token was submitted', () =>
    assert.throws(
      () => validatedThreepid(given([started(), issued(1, 't1')]).state, SECRET, hoursLater(1)),
      refused('M_SESSION_NOT_VALIDATED'),
    ));

  it('answers M_SESSION_EXPIRED 24 h after validation', () =>
    assert.throws(
      () =>
        validatedThreepid(
          given([started(), issued(1, 't1'), validated(hoursLater(1))]).state,
          SECRET,
          hoursLater(25.01),
        ),
      refused('M_SESSION_EXPIRED'),
    ));

  it('answers M_SESSION_EXPIRED when locked', () =>
    assert.throws(
      () => validatedThreepid(given([started(), issued(1, 't1'), locked(T0)]).state, SECRET, hoursLater(1)),
      refused('M_SESSION_EXPIRED'),
    ));

  it('answers M_NO_VALID_SESSION for a wrong secret and for no session', () => {
    for (const [history, secret] of [
      [[started(), issued(1, 't1'), validated(T0)], 'another-secret'],
      [[], SECRET],
    ] as const)
      assert.throws(
        () => validatedThreepid(given(history).state, secret, hoursLater(1)),
        refused('M_NO_VALID_SESSION'),
      );
  });
});

describe('importing a session from another server', () => {
  const SYDENT_SID = '351618676';
  const importedToken = newToken(IMPORTED_SEND_ATTEMPT, 'sydent-token');
  const importing = (
    overrides: Partial<Extract<SessionCommand, { type: 'ImportSession' }>> = {},
  ): Extract<SessionCommand, { type: 'ImportSession' }> => ({
    type: 'ImportSession',
    sid: SYDENT_SID,
    medium: 'email',
    clientSecretDigest: SECRET,
    tokenDigest: importedToken.tokenDigest,
    validated: false,
    modifiedAt: T0,
    sealed: { opening, token: importedToken },
    now: hoursLater(3),
    ...overrides,
  });
  const at = (sid: string, time = T0) => ({ sid, at: time });
  const importedEvents = (validatedToo: boolean): SessionEvent[] => [
    { type: 'SessionStarted', data: { ...opening, ...at(SYDENT_SID) } },
    {
      type: 'TokenIssued',
      data: { ...importedToken, sendAttempt: IMPORTED_SEND_ATTEMPT, imported: true, ...at(SYDENT_SID) },
    },
    ...(validatedToo ? [{ type: 'SessionValidated', data: at(SYDENT_SID) } as const] : []),
  ];

  it('starts the session and issues its token as imported, both at its mtime', () =>
    given([]).when(importing()).then(importedEvents(false)));

  it('records it validated, at its mtime, when it was validated there', () =>
    given([])
      .when(importing({ validated: true }))
      .then(importedEvents(true)));

  it('runs the 24 h from mtime: the token submitted within them validates, later it has expired', () => {
    const imported = importedEvents(false);
    given(imported)
      .when(submit('sydent-token', hoursLater(23)))
      .then([{ type: 'SessionValidated', data: at(SYDENT_SID, hoursLater(23)) }]);
    given(imported)
      .when(submit('sydent-token', hoursLater(25)))
      .thenThrows(refused('M_SESSION_EXPIRED'));
  });

  it('proves the 3PID of a session imported validated, until 24 h after its mtime', () => {
    const state = given(importedEvents(true)).state;
    assert.deepEqual(validatedThreepid(state, SECRET, hoursLater(1)).validatedAt, T0);
    assert.throws(() => validatedThreepid(state, SECRET, hoursLater(25)), refused('M_SESSION_EXPIRED'));
  });

  it('is refused once mtime + 24 h is not after now, and when dated in the future', () => {
    given([])
      .when(importing({ now: later(LIFETIME_MS) }))
      .thenThrows(refused('M_SESSION_EXPIRED'));
    given([])
      .when(importing({ now: later(-1) }))
      .thenThrows({ errcode: 'M_INVALID_PARAM', message: /future/ });
  });

  it('appends nothing when the same session is here already, even validated since', () => {
    given(importedEvents(false))
      .when(importing({ sealed: null }))
      .then([]);
    given([...importedEvents(false), { type: 'SessionValidated', data: at(SYDENT_SID, hoursLater(1)) }])
      .when(importing({ sealed: null, now: hoursLater(2) }))
      .then([]);
  });

  it("is refused when the sid is another session's (another client secret or token)", () => {
    given(importedEvents(false))
      .when(importing({ clientSecretDigest: 'digest-of-another-secret' }))
      .thenThrows({ errcode: 'M_INVALID_PARAM', message: /another session/ });
    given(importedEvents(false))
      .when(importing({ tokenDigest: 'digest:another-token' }))
      .thenThrows({ errcode: 'M_INVALID_PARAM', message: /another session/ });
  });

  it('needs the sealed session when the sid has none yet', () =>
    given([])
      .when(importing({ sealed: null }))
      .thenThrows(IncompleteCommand));

  it('counts the imported token as sent: a repeated send_attempt sends nothing, and reads no delivery', () => {
    const state = given(importedEvents(false)).state;
    assert.equal(deliveryToCheck(state, IMPORTED_SEND_ATTEMPT, hoursLater(1)), null);
    given(importedEvents(false))
      .when(request(IMPORTED_SEND_ATTEMPT, 't2', hoursLater(1)))
      .then([]);
  });

  it('issues a new token (to be delivered here) for any send_attempt a client sends', () =>
    given(importedEvents(false))
      .when({
        ...(request(0, 't2', hoursLater(1)) as Extract<SessionCommand, { type: 'RequestToken' }>),
        sid: SYDENT_SID,
      })
      .then([
        {
          type: 'TokenIssued',
          data: { ...newToken(0, 't2'), sendAttempt: 0, imported: false, ...at(SYDENT_SID, hoursLater(1)) },
        },
      ]));
});

describe("forwarding requestToken from this server's sid to an imported session", () => {
  const OWN_SID = 'c2Vzc2lvbi1pZC1vZi0yMg';
  const forward = (now = T0): SessionCommand => ({
    type: 'ForwardToImported',
    sid: OWN_SID,
    importedSid: '351618676',
    now,
  });
  const forwarded: SessionEvent = {
    type: 'SessionImportedAs',
    data: { sid: OWN_SID, importedSid: '351618676', at: T0 },
  };

  it('is recorded once where no session is, and leaves no session there', () => {
    given([]).when(forward()).then([forwarded]);
    given([forwarded])
      .when(forward(hoursLater(1)))
      .then([]);
    assert.deepEqual(given([forwarded]).state, { status: 'none', importedAs: '351618676' });
    given([forwarded])
      .when(submit('t1', hoursLater(1)))
      .thenThrows(refused('M_NO_VALID_SESSION'));
  });

  it("is never recorded over a session of this server's own", () =>
    given([started(), issued(1, 't1')])
      .when(forward(hoursLater(1)))
      .then([]));
});
