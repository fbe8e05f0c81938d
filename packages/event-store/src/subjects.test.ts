import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InvalidSubject,
  parseSubject,
  STREAM_OF_AGGREGATE,
  streamOf,
  subjectOf,
  subjectsOfStream,
} from './subjects.js';

describe('subjects', () => {
  it('builds tessera.<type>.<id> and parses it back', () => {
    assert.equal(subjectOf('key', 'ed25519:0'), 'tessera.key.ed25519:0');
    assert.deepEqual(parseSubject('tessera.session.abc_DEF-1'), {
      type: 'session',
      id: 'abc_DEF-1',
      aggregate: 'session.abc_DEF-1',
    });
  });

  for (const id of ['', 'a.b', 'a*', '>', 'a b', 'tab\t', 'new\nline', 'é', 'x'.repeat(256)])
    it(`refuses the id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 5)}…` : id)}`, () => {
      assert.throws(() => subjectOf('session', id), InvalidSubject);
    });

  it('refuses unknown aggregate types and foreign subjects', () => {
    assert.throws(() => subjectOf('nope' as 'key', 'a'), InvalidSubject);
    for (const subject of ['tessera.nope.a', 'other.key.a', 'tessera.key', 'tessera.key.a.b', 'tessera.key.*'])
      assert.throws(() => parseSubject(subject), InvalidSubject, subject);
  });

  it('keeps sessions and deliveries in the short-lived stream, everything else in the lasting one', () => {
    assert.equal(streamOf('session'), 'TESSERA_SHORT');
    assert.equal(streamOf('assoc'), 'TESSERA_EVENTS');
    assert.deepEqual(subjectsOfStream('TESSERA_SHORT'), ['tessera.session.>', 'tessera.delivery.>']);
    assert.equal(
      subjectsOfStream('TESSERA_SHORT').length + subjectsOfStream('TESSERA_EVENTS').length,
      Object.keys(STREAM_OF_AGGREGATE).length,
    );
  });
});
