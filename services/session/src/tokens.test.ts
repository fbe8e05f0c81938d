import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newAccessToken, newDeliveryNonce, newValidationToken } from './tokens.js';

describe('tokens', () => {
  it("makes Sydent's formats: 32 letters and digits by mail, 6 digits by SMS", () => {
    assert.match(newValidationToken('email'), /^[A-Za-z0-9]{32}$/);
    assert.match(newValidationToken('msisdn'), /^[0-9]{6}$/);
  });

  it('makes 64-character access tokens', () => assert.match(newAccessToken(), /^[A-Za-z0-9]{64}$/));

  it('makes a different token each time', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => newValidationToken('email')));
    assert.equal(tokens.size, 100);
    assert.notEqual(newDeliveryNonce(), newDeliveryNonce());
  });
});
