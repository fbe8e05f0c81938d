import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { ThreepidMedium } from '@tessera/proto/tessera/events/v1/session';
import { Medium as GrpcMedium } from '@tessera/proto/tessera/session/v1/session';
import {
  type Medium,
  mediumFromEvent,
  mediumFromGrpc,
  mediumToEvent,
  mediumToGrpc,
  parseGrpcMedium,
} from './medium.js';

const media: Medium[] = ['email', 'msisdn'];

describe('medium', () => {
  it('maps email and msisdn to the gRPC enum and back', () => {
    assert.equal(mediumToGrpc('email'), GrpcMedium.MEDIUM_EMAIL);
    assert.equal(mediumToGrpc('msisdn'), GrpcMedium.MEDIUM_MSISDN);
    for (const medium of media) assert.equal(mediumFromGrpc(mediumToGrpc(medium)), medium);
  });

  it('maps email and msisdn to the event enum and back', () => {
    assert.equal(mediumToEvent('email'), ThreepidMedium.THREEPID_MEDIUM_EMAIL);
    assert.equal(mediumToEvent('msisdn'), ThreepidMedium.THREEPID_MEDIUM_MSISDN);
    for (const medium of media) assert.equal(mediumFromEvent(mediumToEvent(medium)), medium);
  });

  it('reads UNSPECIFIED and unknown wire values as no medium', () => {
    assert.equal(mediumFromGrpc(GrpcMedium.MEDIUM_UNSPECIFIED), null);
    assert.equal(mediumFromGrpc(GrpcMedium.UNRECOGNIZED), null);
    assert.equal(mediumFromGrpc(7 as GrpcMedium), null);
    assert.equal(mediumFromEvent(ThreepidMedium.THREEPID_MEDIUM_UNSPECIFIED), null);
    assert.equal(mediumFromEvent(7 as ThreepidMedium), null);
  });

  it('refuses a gRPC request without a medium it validates with M_INVALID_PARAM', () => {
    assert.equal(parseGrpcMedium(GrpcMedium.MEDIUM_MSISDN), 'msisdn');
    assert.throws(
      () => parseGrpcMedium(GrpcMedium.MEDIUM_UNSPECIFIED),
      (err) => err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM',
    );
  });
});
