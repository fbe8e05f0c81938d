import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ListKeysResponse } from '@tessera/proto/tessera/signing/v1/signing';
import { unknownKeys } from './unknown-keys.js';

const KEYS: ListKeysResponse = { keys: [{ keyId: 'ed25519:new', publicKey: 'cHVibGlj', valid: true }] };

/** A ListKeys port that counts its calls and answers when told to. */
function fakeSigning() {
  const calls: Array<{ answer(response?: ListKeysResponse): void; fail(err: Error): void }> = [];
  return {
    calls,
    listKeys: () =>
      new Promise<ListKeysResponse>((resolve, reject) =>
        calls.push({ answer: (response = KEYS) => resolve(response), fail: reject }),
      ),
  };
}

describe('asking signing about key ids the stream has not mentioned', () => {
  it('carries every lookup that arrives while a call is under way on that one call', async () => {
    const signing = fakeSigning();
    const keys = unknownKeys(signing);
    const lookups = ['ed25519:new', ...Array.from({ length: 50 }, (_, i) => `ed25519:x${i}`)].map((id) =>
      keys.lookup(id),
    );
    assert.equal(signing.calls.length, 1);
    signing.calls[0]?.answer();
    const [found, ...rest] = await Promise.all(lookups);
    assert.equal(found?.publicKey, 'cHVibGlj');
    assert.ok(rest.every((key) => key === undefined));
  });

  it('answers from the last call for a while, then asks again', async () => {
    let clock = 0;
    const signing = fakeSigning();
    const keys = unknownKeys(signing, { freshMs: 1_000, now: () => clock });
    const first = keys.lookup('ed25519:a');
    signing.calls[0]?.answer();
    assert.equal(await first, undefined);
    clock = 999;
    assert.equal(await keys.lookup('ed25519:b'), undefined);
    assert.equal(signing.calls.length, 1, 'a flood of unknown ids within the second costs no call');
    clock = 1_000;
    const later = keys.lookup('ed25519:new');
    assert.equal(signing.calls.length, 2);
    signing.calls[1]?.answer();
    assert.equal((await later)?.keyId, 'ed25519:new');
  });

  it('does not remember a failed call: the next lookup asks again', async () => {
    const signing = fakeSigning();
    const keys = unknownKeys(signing);
    const failing = keys.lookup('ed25519:new');
    signing.calls[0]?.fail(new Error('14 UNAVAILABLE'));
    await assert.rejects(failing, /UNAVAILABLE/);
    const again = keys.lookup('ed25519:new');
    assert.equal(signing.calls.length, 2);
    signing.calls[1]?.answer();
    assert.equal((await again)?.valid, true);
  });
});
