import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { subjectDigester } from './subject-digest.js';

describe('subjectDigester', () => {
  it('never returns the subject itself, only KV-safe characters', () => {
    for (const digest of [subjectDigester(), subjectDigester(new Uint8Array(32).fill(7))]) {
      const out = digest('447700900001');
      assert.ok(!out.includes('447700900001'));
      assert.match(out, /^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('gives different digests under different secrets, and the same one under the same secret', () => {
    const a = subjectDigester(new Uint8Array(32).fill(1));
    const b = subjectDigester(new Uint8Array(32).fill(2));
    assert.equal(a('192.0.2.1'), subjectDigester(new Uint8Array(32).fill(1))('192.0.2.1'));
    assert.notEqual(a('192.0.2.1'), b('192.0.2.1'));
    assert.notEqual(a('192.0.2.1'), subjectDigester()('192.0.2.1'));
  });
});
