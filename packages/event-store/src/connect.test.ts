import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from './connect.js';

describe('redactUrl', () => {
  it('hides credentials in one URL or a list of them', () => {
    assert.equal(redactUrl('nats://svc:s3cret@nats:4222'), 'nats://***@nats:4222');
    assert.equal(redactUrl('nats://a:b@h1:4222,nats://tok@h2:4222'), 'nats://***@h1:4222,nats://***@h2:4222');
    assert.equal(redactUrl('user:pw@h:4222'), '***@h:4222');
    assert.equal(redactUrl('nats://127.0.0.1:4222'), 'nats://127.0.0.1:4222');
  });
});
