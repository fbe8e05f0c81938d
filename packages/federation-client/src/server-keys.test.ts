import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeBase64, generateSeed, keyPairFromSeed, signJson } from '@tessera/canonical-json';
import { OutboundError } from './outbound-error.js';
import { readServerKeys } from './server-keys.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const seed = generateSeed();
const publicKey = keyPairFromSeed(seed).publicKey;
const otherSeed = generateSeed();

function keyResponse(overrides: Record<string, unknown> = {}, signWith = seed, keyId = 'ed25519:a') {
  const body = {
    server_name: 'hs.example',
    verify_keys: { 'ed25519:a': { key: encodeBase64(publicKey) } },
    old_verify_keys: { 'ed25519:old': { key: encodeBase64(publicKey), expired_ts: NOW - DAY } },
    valid_until_ts: NOW + DAY,
    ...overrides,
  };
  return signJson(body, { entity: 'hs.example', keyId, seed: signWith });
}
const unexpected = (err: unknown) => err instanceof OutboundError && err.failure === 'unexpected-reply';

describe('readServerKeys', () => {
  it('gives the ed25519 verify keys, the old key ids and valid_until_ts of a self-signed response', () => {
    const keys = readServerKeys(keyResponse(), 'hs.example', NOW);
    assert.deepEqual([...keys.verifyKeys.keys()], ['ed25519:a']);
    assert.deepEqual(keys.verifyKeys.get('ed25519:a'), publicKey);
    assert.deepEqual([...keys.oldKeyIds], ['ed25519:old']);
    assert.equal(keys.usableUntil, NOW + DAY);
  });

  it('uses keys at most 7 days, whatever valid_until_ts says', () => {
    const keys = readServerKeys(keyResponse({ valid_until_ts: NOW + 365 * DAY }), 'hs.example', NOW);
    assert.equal(keys.usableUntil, NOW + 7 * DAY);
  });

  it('leaves out keys of other algorithms and keys that are not 32 bytes of base64', () => {
    const verifyKeys = {
      'ed25519:a': { key: encodeBase64(publicKey) },
      'curve25519:x': { key: encodeBase64(publicKey) },
      'ed25519:short': { key: 'AAAA' },
      'ed25519:junk': { key: '!!!' },
      'ed25519:nokey': {},
    };
    const keys = readServerKeys(keyResponse({ verify_keys: verifyKeys }), 'hs.example', NOW);
    assert.deepEqual([...keys.verifyKeys.keys()], ['ed25519:a']);
  });

  it('refuses a response for another server name', () => {
    assert.throws(() => readServerKeys(keyResponse(), 'other.example', NOW), unexpected);
    const renamed = keyResponse({ server_name: 'evil.example' });
    assert.throws(() => readServerKeys(renamed, 'hs.example', NOW), unexpected);
  });

  it('refuses a response whose self-signature does not verify, or that is not self-signed', () => {
    assert.throws(() => readServerKeys(keyResponse({}, otherSeed), 'hs.example', NOW), unexpected, 'forged');
    const tampered = { ...keyResponse(), valid_until_ts: NOW + 2 * DAY };
    assert.throws(() => readServerKeys(tampered, 'hs.example', NOW), unexpected, 'tampered');
    const { signatures: _, ...unsigned } = keyResponse();
    assert.throws(() => readServerKeys(unsigned, 'hs.example', NOW), unexpected, 'unsigned');
    // Signed only by a key it does not list: nothing vouches for the listed keys.
    assert.throws(() => readServerKeys(keyResponse({}, seed, 'ed25519:b'), 'hs.example', NOW), unexpected, 'unlisted');
  });

  it('refuses a response with a second, bad signature by a listed key', () => {
    const second = keyPairFromSeed(otherSeed).publicKey;
    const verifyKeys = { 'ed25519:a': { key: encodeBase64(publicKey) }, 'ed25519:b': { key: encodeBase64(second) } };
    const signed = keyResponse({ verify_keys: verifyKeys });
    const withBad = {
      ...signed,
      signatures: { 'hs.example': { ...signed.signatures['hs.example'], 'ed25519:b': 'AAAA' } },
    };
    assert.throws(() => readServerKeys(withBad, 'hs.example', NOW), unexpected);
  });

  it('refuses what is not a key response', () => {
    for (const body of [null, [], 'keys', { server_name: 'hs.example' }])
      assert.throws(() => readServerKeys(body, 'hs.example', NOW), unexpected, JSON.stringify(body));
    for (const validUntil of ['soon', null, {}])
      assert.throws(() => readServerKeys(keyResponse({ valid_until_ts: validUntil }), 'hs.example', NOW), unexpected);
    assert.throws(() => readServerKeys(keyResponse({ verify_keys: [] }), 'hs.example', NOW), unexpected);
  });
});
