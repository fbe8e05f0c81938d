import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Envelope } from '@tessera/proto/tessera/events/v1/envelope';
import { identifierKindOf } from './identifier-scan.js';
import { addEnvelope, emptyReport } from './report.js';

/** A stored decision as the stream holds it, encoded and decoded again. */
function stored(keyId: string, at = new Date('2026-12-04T06:10:00Z')): Envelope {
  const envelope = Envelope.fromPartial({
    decisionId: 'd1',
    aggregate: 'key/ed25519:0',
    correlationId: 'c1',
    recordedAt: at,
    schemaVersion: 1,
    events: [
      {
        eventId: 'e1',
        type: 'KeyCreated',
        occurredAt: at,
        payload: { $case: 'keyCreated', value: { keyId, algorithm: 'ed25519', publicKey: 'AAAA' } },
      },
    ],
  });
  return Envelope.decode(Envelope.encode(envelope).finish());
}

describe('what analytics can read of a stored decision', () => {
  it('counts its events and lists its string fields, with no identifier in a clean one', () => {
    const report = emptyReport();
    addEnvelope(report, 1, stored('ed25519:0'));
    assert.equal(report.messages, 1);
    assert.equal(report.events, 1);
    assert.deepEqual([...report.stringFields].sort(), [
      'KeyCreated.algorithm',
      'KeyCreated.keyId',
      'KeyCreated.publicKey',
      'envelope.aggregate',
      'envelope.correlationId',
    ]);
    assert.deepEqual(report.identifiers, []);
  });

  it('names the field and message of a value that looks like an address or a user ID, never the value', () => {
    const report = emptyReport();
    addEnvelope(report, 7, stored('alice@example.org'));
    addEnvelope(report, 8, stored('@alice:example.org'));
    assert.deepEqual(report.identifiers, [
      { kind: 'email address', field: 'KeyCreated.keyId', seq: 7 },
      { kind: 'Matrix user ID', field: 'KeyCreated.keyId', seq: 8 },
    ]);
    assert.ok(!JSON.stringify(report.identifiers).includes('alice'));
  });

  it('tells phone numbers from counters', () => {
    assert.equal(identifierKindOf('447700900123'), 'phone number');
    assert.equal(identifierKindOf('+447700900123'), 'phone number');
    assert.equal(identifierKindOf('12345'), null, 'too short to be a phone number');
    assert.equal(identifierKindOf('447700900123', 'SessionImportedAs.sid'), null, "a Sydent session's decimal sid");
    assert.equal(identifierKindOf('ed25519:0'), null);
    assert.equal(identifierKindOf('f3Jk_9aZ-Qw'), null);
  });
});
