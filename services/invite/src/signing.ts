import { passingErrorsOn } from '@tessera/errors';
import type { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import type { DeadlineClient } from '@tessera/service-kit';

/** The signing service as the invite service uses it; a backend that does not answer is "try again later". */
export interface Signing {
  /** A fresh keypair: public unpadded URL-safe base64, private unpadded standard base64 (the seed). */
  generateEphemeralKeypair(): Promise<{ publicKey: string; privateKey: string }>;
  /** The key SignJson signs with: its id, and its public half (unpadded standard base64); cached for LONG_TERM_KEY_CACHE_MS. */
  longTermKey(): Promise<{ keyId: string; publicKey: string }>;
  signJson(json: string): Promise<string>;
  /** With `keyId` ('' for the current key); M_NOT_FOUND when that key is revoked or unknown. */
  signJsonBatch(json: string[], keyId: string): Promise<string[]>;
  signJsonWithSeed(json: string, seed: string, keyId: string): Promise<string>;
}

// Key ids change rarely (a rotation); an invite answered with the key just retired still verifies.
const LONG_TERM_KEY_CACHE_MS = 60_000;

export function signingOf(client: DeadlineClient<SigningServiceClient>, now: () => number): Signing {
  const call = <T>(request: () => Promise<T>) => passingErrorsOn(request, 'signing');
  let cached: { key: { keyId: string; publicKey: string }; until: number } | null = null;
  return {
    generateEphemeralKeypair: () => call(() => client.generateEphemeralKeypair({})),
    async longTermKey() {
      if (cached !== null && now() < cached.until) return cached.key;
      const { key } = await call(() => client.getPublicKey({ keyId: '' }));
      if (key === undefined) throw new Error('signing answered no public key');
      cached = { key: { keyId: key.keyId, publicKey: key.publicKey }, until: now() + LONG_TERM_KEY_CACHE_MS };
      return cached.key;
    },
    signJson: async (json) => (await call(() => client.signJson({ json, keyId: '' }))).json,
    signJsonBatch: async (json, keyId) => (await call(() => client.signJsonBatch({ json, keyId }))).json,
    signJsonWithSeed: async (json, seed, keyId) =>
      (await call(() => client.signJsonWithSeed({ json, seed, keyId }))).json,
  };
}
