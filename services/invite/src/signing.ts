import { passingErrorsOn } from '@tessera/errors';
import type { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import type { DeadlineClient } from '@tessera/service-kit';

/** The signing service as the invite service uses it; a backend that does not answer is "try again later". */
export interface Signing {
  /** A fresh keypair: public unpadded URL-safe base64, private unpadded standard base64 (the seed). */
  generateEphemeralKeypair(): Promise<{ publicKey: string; privateKey: string }>;
  /** The public key SignJson signs with (unpadded standard base64); cached for LONG_TERM_KEY_CACHE_MS. */
  longTermPublicKey(): Promise<string>;
  signJson(json: string): Promise<string>;
  signJsonBatch(json: string[]): Promise<string[]>;
  signJsonWithSeed(json: string, seed: string, keyId: string): Promise<string>;
}

// Key ids change rarely (a rotation); an invite answered with the key just retired still verifies.
const LONG_TERM_KEY_CACHE_MS = 60_000;

export function signingOf(client: DeadlineClient<SigningServiceClient>, now: () => number): Signing {
  const call = <T>(request: () => Promise<T>) => passingErrorsOn(request, 'signing');
  let cached: { publicKey: string; until: number } | null = null;
  return {
    generateEphemeralKeypair: () => call(() => client.generateEphemeralKeypair({})),
    async longTermPublicKey() {
      if (cached !== null && now() < cached.until) return cached.publicKey;
      const { key } = await call(() => client.getPublicKey({ keyId: '' }));
      if (key === undefined) throw new Error('signing answered no public key');
      cached = { publicKey: key.publicKey, until: now() + LONG_TERM_KEY_CACHE_MS };
      return key.publicKey;
    },
    signJson: async (json) => (await call(() => client.signJson({ json, keyId: '' }))).json,
    signJsonBatch: async (json) => (await call(() => client.signJsonBatch({ json, keyId: '' }))).json,
    signJsonWithSeed: async (json, seed, keyId) =>
      (await call(() => client.signJsonWithSeed({ json, seed, keyId }))).json,
  };
}
