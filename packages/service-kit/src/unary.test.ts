import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ServerUnaryCall, type ServiceError, status } from '@grpc/grpc-js';
import { TemporarilyUnavailable, TesseraError } from '@tessera/errors';
import { captureLogs } from '@tessera/test-harness';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { unaryService } from './unary.js';

type Service = { fail: (call: unknown, callback: unknown) => void };

// One method that throws whatever the test gives it; the answer and the log lines are what count.
function failingWith(err: unknown) {
  const { log, lines } = captureLogs((out) => createLogger('unary-test', 'debug', out));
  const service = unaryService<Service & Record<string, never>>(
    'test.v1.Test',
    { fail: async () => Promise.reject(err) } as never,
    { log, metrics: createMetrics('unary-test') },
  );
  const call = () =>
    new Promise<Partial<ServiceError>>((resolve) =>
      (service.fail as (call: Partial<ServerUnaryCall<unknown, unknown>>, callback: (e: unknown) => void) => void)(
        { request: {} },
        (e) => resolve(e as Partial<ServiceError>),
      ),
    );
  return { call, lines };
}

describe('errors of a unary handler', () => {
  it('logs a bug at error with its stack, and tells the caller nothing', async () => {
    const { call, lines } = failingWith(new Error('database password is hunter2'));
    const answer = await call();
    assert.deepEqual([answer.code, answer.details], [status.INTERNAL, 'internal error']);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'error');
    assert.match(JSON.stringify(lines[0]?.err), /stack/);
  });

  it('logs nothing for a refusal of the request', async () => {
    const { call, lines } = failingWith(new TesseraError('M_INVALID_PARAM', 'sid is malformed'));
    assert.equal((await call()).code, status.INVALID_ARGUMENT);
    assert.deepEqual(lines, []);
  });

  it('leaves an upstream failure (M_UNKNOWN with 502) to the code that threw it', async () => {
    const { call, lines } = failingWith(new TesseraError('M_UNKNOWN', 'homeserver unreachable', { httpStatus: 502 }));
    assert.equal((await call()).code, status.INTERNAL);
    assert.deepEqual(lines, []);
  });

  it('answers UNAVAILABLE for a backend that is down, logging it once at warn without a stack', async () => {
    class StoreUnavailable extends TemporarilyUnavailable {
      override readonly name = 'StoreUnavailable';
    }
    const { call, lines } = failingWith(new StoreUnavailable('load tessera.session.abc: TIMEOUT'));
    for (let i = 0; i < 3; i++) assert.equal((await call()).code, status.UNAVAILABLE);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      [lines[0]?.level, lines[0]?.msg, lines[0]?.problem],
      ['warn', 'backend unavailable', 'load tessera.session.abc: TIMEOUT'],
    );
    assert.doesNotMatch(JSON.stringify(lines), /stack/);
  });
});
