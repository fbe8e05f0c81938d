import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyring } from './keyring.js';
import { OutboundError } from './outbound-error.js';
import type { ServerKeys } from './server-keys.js';
import { XMatrixRefusal } from './x-matrix-refusal.js';

const HOUR = 3_600_000;
const KEY_A = new Uint8Array(32).fill(1);
const KEY_B = new Uint8Array(32).fill(2);

/** A keyring on a clock the test moves, over a fetch the test scripts: each call takes the next answer. */
function setUp(answers: Array<(now: number) => ServerKeys | Error>) {
  let now = 1_000_000;
  const fetched: string[] = [];
  const keyring = createKeyring({
    now: () => now,
    fetchServerKeys: async (serverName) => {
      fetched.push(serverName);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('unexpected fetch');
      const result = answer(now);
      if (result instanceof Error) throw result;
      return result;
    },
  });
  return { keyring, fetched, advance: (ms: number) => (now += ms) };
}
const keys =
  (validForMs: number, verifyKeys: Record<string, Uint8Array> = { 'ed25519:a': KEY_A }, old: string[] = []) =>
  (now: number): ServerKeys => ({
    serverName: 'hs.example',
    verifyKeys: new Map(Object.entries(verifyKeys)),
    oldKeyIds: new Set(old),
    usableUntil: now + validForMs,
  });
const refused = (reason: XMatrixRefusal['reason']) => (err: unknown) =>
  err instanceof XMatrixRefusal && err.reason === reason;

describe('createKeyring', () => {
  it('fetches once and answers from the cache until the keys expire, then fetches again', async () => {
    const { keyring, fetched, advance } = setUp([keys(HOUR), keys(HOUR)]);
    assert.deepEqual(await keyring.verifyKey('hs.example', 'ed25519:a'), KEY_A);
    advance(HOUR - 1);
    assert.deepEqual(await keyring.verifyKey('hs.example', 'ed25519:a'), KEY_A);
    assert.equal(fetched.length, 1);
    advance(1);
    await keyring.verifyKey('hs.example', 'ed25519:a');
    assert.equal(fetched.length, 2);
  });

  it('shares one fetch between concurrent requests for one server', async () => {
    const { keyring, fetched } = setUp([keys(HOUR)]);
    const results = await Promise.all(Array.from({ length: 20 }, () => keyring.verifyKey('hs.example', 'ed25519:a')));
    assert.equal(results.length, 20);
    assert.deepEqual(fetched, ['hs.example']);
  });

  it('remembers a failed fetch for a minute, answering the same refusal without asking', async () => {
    const unreachable = new OutboundError('connect', 'hs.example:8448 refused the connection');
    const { keyring, fetched, advance } = setUp([() => unreachable, keys(HOUR)]);
    for (let i = 0; i < 5; i++)
      await assert.rejects(keyring.verifyKey('hs.example', 'ed25519:a'), refused('origin-unreachable'));
    assert.equal(fetched.length, 1);
    advance(60_000);
    assert.deepEqual(await keyring.verifyKey('hs.example', 'ed25519:a'), KEY_A);
    assert.equal(fetched.length, 2);
  });

  it('names each fetch failure: guard refusal, unusable reply, unreachable', async () => {
    const { keyring } = setUp([
      () => new OutboundError('refused', 'private'),
      () => new OutboundError('unexpected-reply', 'bad self-signature'),
      () => new OutboundError('not-json', 'html'),
      () => new OutboundError('timeout', 'slow'),
    ]);
    await assert.rejects(keyring.verifyKey('a.example', 'ed25519:a'), refused('origin-refused'));
    await assert.rejects(keyring.verifyKey('b.example', 'ed25519:a'), refused('bad-key-response'));
    await assert.rejects(keyring.verifyKey('c.example', 'ed25519:a'), refused('bad-key-response'));
    await assert.rejects(keyring.verifyKey('d.example', 'ed25519:a'), refused('origin-unreachable'));
  });

  it('refuses a key id the server does not publish, asking again at most once a minute', async () => {
    const { keyring, fetched, advance } = setUp([keys(HOUR), keys(HOUR, { 'ed25519:a': KEY_A, 'ed25519:b': KEY_B })]);
    await assert.rejects(keyring.verifyKey('hs.example', 'ed25519:b'), refused('unknown-key'));
    await assert.rejects(keyring.verifyKey('hs.example', 'ed25519:zz'), refused('unknown-key'));
    assert.equal(fetched.length, 1, 'unknown key ids within a minute cost no fetch');
    advance(60_000);
    assert.deepEqual(await keyring.verifyKey('hs.example', 'ed25519:b'), KEY_B, 'a rotated key is found');
    assert.equal(fetched.length, 2);
  });

  it('keeps the keys it has when a refetch for an unknown key id fails', async () => {
    const { keyring, fetched, advance } = setUp([keys(HOUR), () => new OutboundError('timeout', 'slow')]);
    await keyring.verifyKey('hs.example', 'ed25519:a');
    advance(60_000);
    await assert.rejects(keyring.verifyKey('hs.example', 'ed25519:forged'), refused('origin-unreachable'));
    assert.deepEqual(await keyring.verifyKey('hs.example', 'ed25519:a'), KEY_A);
    await assert.rejects(keyring.verifyKey('hs.example', 'ed25519:forged'), refused('unknown-key'));
    assert.equal(fetched.length, 2, 'and waits a minute before asking again');
  });

  it('refuses expired keys and old_verify_keys as expired, remembering an expired answer for a minute', async () => {
    const { keyring, fetched } = setUp([keys(-1, { 'ed25519:a': KEY_A }, ['ed25519:old'])]);
    await assert.rejects(keyring.verifyKey('hs.example', 'ed25519:a'), refused('expired-key'));
    await assert.rejects(keyring.verifyKey('hs.example', 'ed25519:old'), refused('expired-key'));
    assert.equal(fetched.length, 1);
  });
});
