import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { withCorrelation } from '@tessera/correlation';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('names the correlation id of the work in progress on every line, and none outside it', async () => {
    const { lines, stream } = capture();
    const log = createLogger('session', 'info', stream).child({ part: 'x' });
    await withCorrelation('req-42', async () => {
      await Promise.resolve();
      log.info('inside');
    });
    log.info({ sid: '1' }, 'outside');
    log.info('outside again');
    const [inside, outside, again] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(inside?.correlationId, 'req-42');
    assert.equal(outside?.correlationId, undefined);
    assert.equal(again?.sid, undefined, "a line never carries another line's fields");
  });

  it('writes one JSON object a line with the service name, level and time', () => {
    const { lines, stream } = capture();
    createLogger('signing', 'info', stream).info({ sid: '42' }, 'session started');
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(entry.service, 'signing');
    assert.equal(entry.level, 'info');
    assert.equal(entry.sid, '42');
    assert.equal(entry.msg, 'session started');
    assert.match(String(entry.time), /^\d{4}-\d{2}-\d{2}T/);
  });

  it('redacts fields that may hold a 3PID, a user ID, a token, a secret or key material', () => {
    const { lines, stream } = capture();
    createLogger('session', 'info', stream).info(
      {
        address: 'alice@example.org',
        userId: '@alice:example.org',
        token: 'tok-123',
        request: { client_secret: 'cs-456', seed: 'c2VlZA', user_id: '@bob:example.org' },
        headers: { authorization: 'Bearer abc' },
      },
      'request',
    );
    for (const secret of ['alice@example.org', '@alice', '@bob', 'tok-123', 'cs-456', 'c2VlZA', 'Bearer abc'])
      assert.doesNotMatch(lines[0] ?? '', new RegExp(secret), secret);
    assert.match(lines[0] ?? '', /\[redacted\]/);
  });

  it('drops messages below its level', () => {
    const { lines, stream } = capture();
    const log = createLogger('gateway', 'warn', stream);
    log.info('quiet');
    log.warn('loud');
    assert.equal(lines.length, 1);
  });
});
