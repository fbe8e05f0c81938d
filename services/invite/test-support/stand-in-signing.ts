// An in-process gRPC server standing for the signing service (another process in production): a
// real ed25519 long-term key, real ephemeral keypairs and seed signatures, so that every answer
// verifies. Over loopback without TLS.
import {
  decodeBase64,
  encodeBase64,
  encodeBase64Url,
  generateSeed,
  keyPairFromSeed,
  signJson,
} from '@tessera/canonical-json';
import { TesseraError } from '@tessera/errors';
import { type SigningServiceServer, SigningServiceService } from '@tessera/proto/tessera/signing/v1/signing';
import { createLogger, createMetrics, startGrpcServer, unaryService } from '@tessera/service-kit';

export const SERVER_NAME = 'id.example';
export const LONG_TERM_KEY_ID = 'ed25519:0';
export const NEXT_KEY_ID = 'ed25519:1';

export interface StandInSigning {
  /** host:port for TESSERA_SIGNING_ADDR. */
  target: string;
  /** The long-term key's public half. */
  publicKey: Uint8Array;
  /** GetPublicKey calls so far (the invite service caches the key). */
  publicKeyCalls(): number;
  /**
   * A second long-term key, `ed25519:1`, becomes the current one (ed25519:0 stays valid), as a
   * planned rotation does; its public half. `restore()` makes ed25519:0 current again.
   */
  rotate(): Uint8Array;
  restore(): void;
  stop(): Promise<void>;
}

/** `longTermSeed`: ed25519:0's seed (a key imported from Sydent); a fresh one by default. */
export async function startStandInSigning({
  longTermSeed = generateSeed(),
}: {
  longTermSeed?: Uint8Array;
} = {}): Promise<StandInSigning> {
  const log = createLogger('signing', 'fatal');
  const metrics = createMetrics('signing');
  const { publicKey } = keyPairFromSeed(longTermSeed);
  const nextSeed = generateSeed();
  const seeds = new Map([
    [LONG_TERM_KEY_ID, longTermSeed],
    [NEXT_KEY_ID, nextSeed],
  ]);
  let currentKeyId = LONG_TERM_KEY_ID;
  const seedOf = (keyId: string) => {
    const seed = seeds.get(keyId || currentKeyId);
    if (seed === undefined) throw new TesseraError('M_NOT_FOUND', 'no valid key with this id');
    return { keyId: keyId || currentKeyId, seed };
  };
  let publicKeyCalls = 0;
  const withKey = (json: string, seed: Uint8Array, keyId: string) =>
    JSON.stringify(signJson(JSON.parse(json) as object, { entity: SERVER_NAME, keyId, seed }));
  const notHere = async () => {
    throw new TesseraError('M_UNRECOGNIZED', 'not part of the stand-in');
  };
  const implementation = unaryService<SigningServiceServer>(
    'tessera.signing.v1.SigningService',
    {
      getPublicKey: async () => {
        publicKeyCalls++;
        const { keyId, seed } = seedOf('');
        return { key: { keyId, publicKey: encodeBase64(keyPairFromSeed(seed).publicKey), valid: true } };
      },
      signJson: async ({ json }: { json: string }) => {
        const { keyId, seed } = seedOf('');
        return { json: withKey(json, seed, keyId) };
      },
      signJsonBatch: async ({ json, keyId: asked }: { json: string[]; keyId: string }) => {
        const { keyId, seed } = seedOf(asked);
        return { json: json.map((one) => withKey(one, seed, keyId)) };
      },
      generateEphemeralKeypair: async () => {
        const seed = generateSeed();
        return { publicKey: encodeBase64Url(keyPairFromSeed(seed).publicKey), privateKey: encodeBase64Url(seed) };
      },
      signJsonWithSeed: async ({ json, seed, keyId }: { json: string; seed: string; keyId: string }) => ({
        json: withKey(json, decodeBase64(seed), keyId || LONG_TERM_KEY_ID),
      }),
      listKeys: notHere,
      isValid: notHere,
    } as never,
    { log, metrics },
  );
  const server = await startGrpcServer({
    listen: { host: '127.0.0.1', port: 0 },
    services: [{ name: 'tessera.signing.v1.SigningService', definition: SigningServiceService, implementation }],
    tls: null,
    allowedClients: [],
    log,
    metrics,
  });
  return {
    target: `127.0.0.1:${server.port}`,
    publicKey,
    publicKeyCalls: () => publicKeyCalls,
    rotate() {
      currentKeyId = NEXT_KEY_ID;
      return keyPairFromSeed(nextSeed).publicKey;
    },
    restore() {
      currentKeyId = LONG_TERM_KEY_ID;
    },
    stop: () => server.stop(1_000),
  };
}
