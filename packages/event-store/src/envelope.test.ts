import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AT, keyCreated, keyRevoked } from '../test-support/fixtures.js';
import {
  announcedEventTypes,
  decisionHeaders,
  decodeEnvelope,
  encodeEnvelope,
  eventTypesOf,
  HEADER,
  SCHEMA_VERSION,
  toEnvelope,
} from './envelope.js';
import { eventTypeOf, newEvent } from './events.js';

const decision = (events = [keyCreated(), keyRevoked('compromised')]) => ({
  decisionId: 'd-1',
  aggregate: 'key.ed25519:0',
  correlationId: 'req-1',
  recordedAt: AT,
  events,
});

describe('envelope', () => {
  it('round-trips every event of a decision through protobuf', () => {
    const envelope = toEnvelope(decision());
    const decoded = decodeEnvelope(encodeEnvelope(envelope));
    assert.deepEqual(decoded, envelope);
    assert.equal(decoded.schemaVersion, SCHEMA_VERSION);
    assert.deepEqual(
      decoded.events.map((event) => event.type),
      ['KeyCreated', 'KeyRevoked'],
    );
  });

  it('announces the distinct event types, aggregate, correlation id and previous sequence in headers', () => {
    const envelope = toEnvelope(decision([keyRevoked('a'), keyCreated(), keyRevoked('b')]));
    const h = decisionHeaders(envelope, 41);
    assert.equal(h.get(HEADER.eventTypes), 'KeyRevoked,KeyCreated');
    assert.deepEqual(announcedEventTypes(h), ['KeyRevoked', 'KeyCreated']);
    assert.equal(h.get(HEADER.aggregate), 'key.ed25519:0');
    assert.equal(h.get(HEADER.correlationId), 'req-1');
    assert.equal(h.get(HEADER.previousSeq), '41');
    assert.equal(announcedEventTypes(undefined), null);
  });

  it('refuses an empty decision, a bad correlation id and an event without payload', () => {
    assert.throws(() => toEnvelope(decision([])), TypeError);
    assert.throws(() => toEnvelope({ ...decision(), correlationId: 'a\r\nb' }), TypeError);
    assert.throws(() => toEnvelope({ ...decision(), correlationId: '' }), TypeError);
    const bare = { ...keyCreated(), payload: undefined };
    assert.throws(() => toEnvelope(decision([bare])), TypeError);
  });

  it('gives each new event its own id, its payload type and the given time', () => {
    const a = newEvent({ $case: 'keyRevoked', value: { keyId: 'k', reason: 'r' } }, AT);
    const b = keyRevoked('r');
    assert.notEqual(a.eventId, b.eventId);
    assert.match(a.eventId, /^[0-9a-f-]{36}$/);
    assert.equal(a.type, 'KeyRevoked');
    assert.equal(a.occurredAt, AT);
    assert.deepEqual(eventTypesOf([a, b]), ['KeyRevoked']);
  });

  it('names every payload field of Event after its message, so the type follows from the case', () => {
    const proto = readFileSync(new URL('../../../../proto/tessera/events/v1/envelope.proto', import.meta.url), 'utf8');
    const oneof = /oneof payload \{([^}]*)\}/.exec(proto)?.[1];
    assert.ok(oneof, 'Event has a payload oneof');
    const fields = [...oneof.matchAll(/^\s*(\w+)\s+(\w+)\s*=\s*\d+;/gm)];
    assert.ok(fields.length > 0);
    for (const [, message, field] of fields) {
      const camel = (field ?? '').replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      assert.equal(eventTypeOf(camel as never), message, `field ${field} must be named after ${message}`);
    }
  });
});
