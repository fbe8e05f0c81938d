import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { ThreepidMedium } from '@tessera/proto/tessera/events/v1/session';
import { Medium as GrpcMedium } from '@tessera/proto/tessera/session/v1/session';
import * as medium from './medium.js';

const media: medium.Medium[] = ['email', 'msisdn'];

describe('medium', () => {
  it('maps email and msisdn to the gRPC enum and back', () => {
    assert.equal(medium.mediumToGrpc('email'), GrpcMedium.MEDIUM_EMAIL);
    assert.equal(medium.mediumToGrpc('msisdn'), GrpcMedium.MEDIUM_MSISDN);
    for (const name of media) assert.equal(medium.mediumFromGrpc(medium.mediumToGrpc(name)), name);
  });

  it('maps email and msisdn to the event enum and back', () => {
    assert.equal(medium.mediumToEvent('email'), ThreepidMedium.THREEPID_MEDIUM_EMAIL);
    assert.equal(medium.mediumToEvent('msisdn'), ThreepidMedium.THREEPID_MEDIUM_MSISDN);
    for (const name of media) assert.equal(medium.mediumFromEvent(medium.mediumToEvent(name)), name);
  });

  it('reads UNSPECIFIED and unknown wire values as no medium', () => {
    assert.equal(medium.mediumFromGrpc(GrpcMedium.MEDIUM_UNSPECIFIED), null);
    assert.equal(medium.mediumFromGrpc(GrpcMedium.UNRECOGNIZED), null);
    assert.equal(medium.mediumFromGrpc(7 as GrpcMedium), null);
    assert.equal(medium.mediumFromEvent(ThreepidMedium.THREEPID_MEDIUM_UNSPECIFIED), null);
    assert.equal(medium.mediumFromEvent(7 as ThreepidMedium), null);
  });

  it('refuses a gRPC request without a medium it validates with M_INVALID_PARAM', () => {
    assert.equal(medium.parseGrpcMedium(GrpcMedium.MEDIUM_MSISDN), 'msisdn');
    assert.throws(
      () => medium.parseGrpcMedium(GrpcMedium.MEDIUM_UNSPECIFIED),
      (err) => err instanceof TesseraError && err.errcode === 'M_INVALID_PARAM',
    );
  });
});
