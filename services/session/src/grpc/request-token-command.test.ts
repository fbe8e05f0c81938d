import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DataKey, type DataKeySource, DataKeys, type LoadedState, newEvent } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { Medium, type RequestTokenRequest } from '@tessera/proto/tessera/session/v1/session';
import { createSecrets } from '@tessera/server-secret';
import { SESSION_SEALED_FIELDS as SEALED } from '@tessera/spec-params';
import { emailTokenRequest } from '../../test-support/requests.js';
import { deliverySubject, sessionAggregate } from '../aggregates.js';
import type { Session } from '../domain/session.js';
import { storedSessions } from '../events/session-events.js';
import { ImportedElsewhere, planRequestToken } from './request-token-command.js';

// The effects a RequestToken command is made with, before the decider sees it: the data key, the
// sealed fields, the token, the outcome of the last delivery. The NATS-backed parts are faked here
// (session.int.test.ts runs them for real).

const T0 = new Date('2025-01-15T10:00:00Z');
const secrets = createSecrets(Buffer.alloc(32, 7));

/** A data-key source in memory that counts what is asked of it. */
function countingKeySource() {
  const keys = new Map<string, DataKey>();
  const calls = { get: 0, create: 0 };
  const source: DataKeySource = {
    async get(aggregate) {
      calls.get++;
      return keys.get(aggregate) ?? null;
    },
    async create(aggregate, key) {
      calls.create++;
      if (!keys.has(aggregate)) keys.set(aggregate, key);
      return keys.get(aggregate) as DataKey;
    },
    async erase(aggregate) {
      keys.delete(aggregate);
    },
  };
  return { source, calls };
}

/** Delivery subjects and what the notifier recorded on them; counts the loads. */
function deliveries() {
  const recorded = new Map<string, Event[]>();
  const loads: string[] = [];
  return {
    loads,
    record: (deliveryId: string, outcome: 'tokenSent' | 'tokenSendFailed') =>
      recorded.set(deliverySubject(deliveryId), [
        outcome === 'tokenSent'
          ? newEvent({ $case: 'tokenSent', value: { deliveryId, providerMessageId: '' } }, T0)
          : newEvent({ $case: 'tokenSendFailed', value: { deliveryId, reason: 'refused', refused: true } }, T0),
      ]),
    store: {
      async load(subject: string) {
        loads.push(subject);
        return { events: recorded.get(subject) ?? [], lastSeq: 0 };
      },
    },
  };
}

/** A RequestToken for alice's session (or as `changes` say), on a data-key source shared with earlier plans when given. */
function plan(sendAttempt: number, keys = countingKeySource(), changes: Partial<RequestTokenRequest> = {}) {
  const delivered = deliveries();
  const request = {
    medium: Medium.MEDIUM_EMAIL,
    address: 'alice@example.org',
    clientSecret: 'a-client-secret',
    sendAttempt,
    nextLink: 'https://example.org/done',
    brand: '',
    clientIp: '192.0.2.1',
    country: '',
    accessToken: '',
    clientLowercaseAddress: '',
    ...changes,
  };
  const deps = { secrets, dataKeys: new DataKeys(keys.source), store: delivered.store, now: () => T0 };
  return { plan: planRequestToken(request, deps), keys, delivered };
}

/** The command made for `loaded`, what it decides, and the state after it. */
async function decided(
  made: ReturnType<typeof plan>,
  loaded: LoadedState<Session> = { state: storedSessions.initial(), seq: 0 },
) {
  const command = await made.plan.command(loaded);
  const events = storedSessions.decide(command, loaded.state);
  return { command, events, after: { state: events.reduce(storedSessions.evolve, loaded.state), seq: loaded.seq + 1 } };
}

/** A session that was sent token 1, and the same request (send_attempt 1) made again on it. */
async function sentOnce() {
  const first = plan(1);
  const { after, events } = await decided(first);
  const issued = events.find((event) => event.type === 'TokenIssued');
  assert.ok(issued?.type === 'TokenIssued');
  return { first, after, lastDeliveryId: issued.data.deliveryId, again: plan(1, first.keys) };
}

describe('making a RequestToken command', () => {
  it('makes the data key without looking for one first, and seals the opening and the token, for a new session', async () => {
    const first = plan(1);
    const { command, events } = await decided(first);
    assert.deepEqual(first.keys.calls, { get: 0, create: 1 });
    assert.ok(command.opening !== null && command.token !== null);
    assert.deepEqual(
      events.map((event) => event.type),
      ['SessionStarted', 'TokenIssued'],
    );
    assert.deepEqual(first.delivered.loads, [], 'a new session has no last delivery');
  });

  it("seals the client's lower-cased address in the opening when there is one, and nothing when not", async () => {
    const typed = { address: 'strasse@example.org', clientLowercaseAddress: 'straße@example.org' };
    const made = plan(1, countingKeySource(), typed);
    const { command } = await decided(made);
    const sealed = command.opening?.sealedClientLowercaseAddress;
    assert.ok(sealed);
    assert.equal(sealed.ciphertext.includes(Buffer.from('straße')), false);
    const opened = await new DataKeys(made.keys.source).openField(
      sessionAggregate(made.plan.sid),
      SEALED.clientLowercaseAddress,
      sealed,
    );
    assert.equal(Buffer.from(opened ?? []).toString('utf8'), 'straße@example.org');
    assert.equal((await decided(plan(1))).command.opening?.sealedClientLowercaseAddress, null);
  });

  it('makes and seals nothing for a send_attempt whose message was sent, having read that delivery', async () => {
    const { first, after, lastDeliveryId, again } = await sentOnce();
    again.delivered.record(lastDeliveryId, 'tokenSent');
    const keyCalls = { ...first.keys.calls };
    const { command } = await decided(again, after);
    assert.deepEqual([command.opening, command.token], [null, null]);
    assert.deepEqual(again.keys.calls, keyCalls, 'no data key asked for: nothing sealed');
    assert.deepEqual(again.delivered.loads, [deliverySubject(lastDeliveryId)]);
  });

  it('seals no new opening for a session that goes on', async () => {
    const first = plan(1);
    const { after } = await decided(first);
    const higher = plan(2, first.keys);
    const { command, events } = await decided(higher, after);
    assert.equal(command.opening, null);
    assert.deepEqual(
      events.map((event) => event.type),
      ['TokenIssued'],
    );
  });

  it('reads the last delivery afresh for each decision, and makes the token and its sealed fields once', async () => {
    const { after, lastDeliveryId, again } = await sentOnce();
    // Still on its way: nothing to send.
    assert.equal((await again.plan.command(after)).token, null);
    // A decision taken again after a conflict: the delivery has failed meanwhile, so a token is made...
    again.delivered.record(lastDeliveryId, 'tokenSendFailed');
    const retried = await again.plan.command(after);
    assert.notEqual(retried.token, null);
    // ...and the same one comes with every later decision.
    const retriedAgain = await again.plan.command(after);
    assert.equal(retriedAgain.token, retried.token);
    assert.equal(again.delivered.loads.length, 3);
    assert.equal(again.keys.calls.create, 1, 'made once, for the new session');
  });
});

describe('a RequestToken for a session imported from another server', () => {
  const forwarding = (importedSid: string): LoadedState<Session> => ({
    state: { status: 'none', importedAs: importedSid },
    seq: 1,
  });

  it('is sent on to the imported sid, making and sealing nothing where it landed', async () => {
    const made = plan(1);
    await assert.rejects(made.plan.command(forwarding('351618676')), (err: unknown) => {
      assert.ok(err instanceof ImportedElsewhere);
      assert.equal(err.importedSid, '351618676');
      return true;
    });
    assert.deepEqual(made.keys.calls, { get: 0, create: 0 });
  });

  it('goes on under the imported sid when planned with it', async () => {
    const deps = {
      secrets,
      dataKeys: new DataKeys(countingKeySource().source),
      store: deliveries().store,
      now: () => T0,
    };
    const request = emailTokenRequest({
      address: 'alice@example.org',
      clientSecret: 'a-client-secret',
      sendAttempt: 2,
    });
    const imported = planRequestToken(request, deps, '351618676');
    assert.equal(imported.sid, '351618676');
    assert.match(imported.deliveryId, /^351618676-2-/);
  });
});
