import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { TesseraError } from './tessera-error.js';
import { TemporarilyUnavailable } from './unavailable.js';
import { answeredByService, matrixErrorOf, toMatrixError, toServiceError } from './wire.js';

// What a grpc-js client receives for a status object the server sent.
function received(sent: Partial<ReturnType<typeof toServiceError>>): ServiceError {
  return Object.assign(new Error(sent.details), {
    code: sent.code ?? status.UNKNOWN,
    details: sent.details ?? '',
    metadata: sent.metadata ?? new Metadata(),
  });
}

describe('errors across gRPC', () => {
  it('keeps the errcode, message and HTTP status of a TesseraError', () => {
    const sent = toServiceError(new TesseraError('M_NO_VALID_SESSION', 'no session matches'));
    assert.equal(sent.code, status.NOT_FOUND);
    assert.deepEqual(toMatrixError(received(sent)), {
      status: 404,
      body: { errcode: 'M_NO_VALID_SESSION', error: 'no session matches' },
    });
  });

  it('carries extra body members and an overridden status', () => {
    const sent = toServiceError(
      new TesseraError('M_UNRECOGNIZED', 'unknown medium', { httpStatus: 400, extra: { mxid: '@a:b' } }),
    );
    assert.deepEqual(toMatrixError(received(sent)), {
      status: 400,
      body: { errcode: 'M_UNRECOGNIZED', error: 'unknown medium', mxid: '@a:b' },
    });
  });

  it('hides the message of an unexpected error', () => {
    const sent = toServiceError(new Error('connection string postgres://secret@db'));
    assert.equal(sent.code, status.INTERNAL);
    assert.equal(sent.details, 'internal error');
    assert.deepEqual(toMatrixError(received(sent)).body, { errcode: 'M_UNKNOWN', error: 'internal error' });
  });

  it('answers 503 when the service is down or too slow', () => {
    for (const code of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED]) {
      const err = received({ code, details: 'No connection established', metadata: new Metadata() });
      const mapped = toMatrixError(err);
      assert.equal(mapped.status, 503);
      assert.equal(mapped.body.errcode, 'M_UNKNOWN');
    }
  });

  it('answers 503 for a call cut by a server that died, and 500 for any other INTERNAL without an errcode', () => {
    const cut = received({
      code: status.INTERNAL,
      details: 'Received RST_STREAM with code 0 (Call ended without gRPC status)',
    });
    assert.equal(answeredByService(cut), false);
    assert.deepEqual(toMatrixError(cut), {
      status: 503,
      body: { errcode: 'M_UNKNOWN', error: 'service temporarily unavailable' },
    });
    const unparsable = received({
      code: status.INTERNAL,
      details: 'Response message parsing error: index out of range',
    });
    assert.equal(toMatrixError(unparsable).status, 500);
  });

  it('sends a backend that is down (any TemporarilyUnavailable) as UNAVAILABLE, which the gateway answers with 503', () => {
    class StoreDown extends TemporarilyUnavailable {
      override readonly name = 'StoreDown';
    }
    for (const err of [
      new TemporarilyUnavailable('nats timed out'),
      new StoreDown('load tessera.session.x: TIMEOUT'),
    ]) {
      const sent = toServiceError(err);
      assert.equal(sent.code, status.UNAVAILABLE);
      assert.equal(sent.details, 'service temporarily unavailable', 'the cause stays in the service');
      const received503 = received(sent);
      assert.equal(answeredByService(received503), true);
      assert.deepEqual(toMatrixError(received503), {
        status: 503,
        body: { errcode: 'M_UNKNOWN', error: 'service temporarily unavailable' },
      });
    }
  });

  it('tells an answer of the service from a call that failed on the way', () => {
    assert.equal(answeredByService(received(toServiceError(new TesseraError('M_NOT_FOUND', 'no')))), true);
    assert.equal(answeredByService(received(toServiceError(new Error('bug')))), true);
    const noConnection = received({ code: status.UNAVAILABLE, details: 'No connection established' });
    assert.equal(answeredByService(noConnection), false);
  });

  it('treats an errcode it does not know as an internal error', () => {
    const metadata = new Metadata();
    metadata.set('tessera-errcode', 'toString');
    const mapped = toMatrixError(received({ code: status.NOT_FOUND, details: 'x', metadata }));
    assert.equal(mapped.status, 500);
  });

  it('lets an extra member never overwrite errcode or error', () => {
    const mapped = matrixErrorOf(new TesseraError('M_FORBIDDEN', 'no', { extra: { errcode: 'M_UNKNOWN' } }));
    assert.deepEqual(mapped, { status: 403, body: { errcode: 'M_FORBIDDEN', error: 'no' } });
  });
});
