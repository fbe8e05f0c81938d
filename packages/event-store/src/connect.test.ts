import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from './connect.js';

describe('redactUrl', () => {
  it('hides passwords and tokens in one URL or a list of them', () => {
    assert.equal(redactUrl('nats://svc:s3cret@nats:4222'), 'nats://svc:***@nats:4222');
    assert.equal(redactUrl('nats://a:b@h1:4222,nats://tok@h2:4222'), 'nats://a:***@h1:4222,nats://***@h2:4222');
    assert.equal(redactUrl('user:pw@h:4222'), 'user:***@h:4222');
    assert.equal(redactUrl('tok@h:4222'), '***@h:4222');
    assert.equal(redactUrl('nats://127.0.0.1:4222'), 'nats://127.0.0.1:4222');
    assert.equal(redactUrl('postgres://tessera:pg-pw@db:5432/tessera'), 'postgres://tessera:***@db:5432/tessera');
    assert.equal(redactUrl('postgres://postgres@127.0.0.1:5432/tessera'), 'postgres://postgres@127.0.0.1:5432/tessera');
    assert.equal(redactUrl('smtp://mailer:p%40ss@mx:587'), 'smtp://mailer:***@mx:587');
    assert.equal(redactUrl('nats://svc:p@ss@nats:4222'), 'nats://svc:***@nats:4222'); // an unescaped @ in it
  });
});
