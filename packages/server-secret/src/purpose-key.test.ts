import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { purposeKey } from './purpose-key.js';

const SECRET = Buffer.alloc(32, 7);

describe('purposeKey', () => {
  it('is HMAC-SHA256 of "tessera/<purpose>" under the server secret', () =>
    assert.deepEqual(
      Buffer.from(purposeKey(SECRET, 'rate-limit')),
      createHmac('sha256', SECRET).update('tessera/rate-limit').digest(),
    ));

  it('gives each purpose its own key', () =>
    assert.notDeepEqual(purposeKey(SECRET, 'rate-limit'), purposeKey(SECRET, 'other')));
});
