// In-process gRPC servers standing for session (GetValidated3pid) and signing (SignJson,
// SignJsonBatch, with a real ed25519 key, so that answers verify), over loopback without TLS.
import { generateSeed, keyPairFromSeed, signJson } from '@tessera/canonical-json';
import { TesseraError } from '@tessera/errors';
import {
  type GetValidated3pidResponse,
  type SessionServiceServer,
  SessionServiceService,
} from '@tessera/proto/tessera/session/v1/session';
import { type SigningServiceServer, SigningServiceService } from '@tessera/proto/tessera/signing/v1/signing';
import {
  createLogger,
  createMetrics,
  type RunningGrpcServer,
  startGrpcServer,
  unaryService,
} from '@tessera/service-kit';

export const SERVER_NAME = 'id.example';
export const KEY_ID = 'ed25519:0';

export interface StandIns {
  /** host:port for TESSERA_SESSION_ADDR and TESSERA_SIGNING_ADDR. */
  target: string;
  publicKey: Uint8Array;
  /** Signs JSON as signing does (SERVER_NAME, KEY_ID): what an import of a clean own row carries. */
  sign(json: string): string;
  /** The sessions GetValidated3pid knows: `sid` → its 3PID, or the error it answers. */
  sessions: Map<string, { secret: string; answer: GetValidated3pidResponse } | { error: TesseraError }>;
  signBatchCalls(): number;
  stop(): Promise<void>;
}

export async function startStandIns(): Promise<StandIns> {
  const log = createLogger('directory', 'fatal');
  const metrics = createMetrics('directory');
  const seed = generateSeed();
  const { publicKey } = keyPairFromSeed(seed);
  const sign = (json: string) =>
    JSON.stringify(signJson(JSON.parse(json) as object, { entity: SERVER_NAME, keyId: KEY_ID, seed }));
  let batches = 0;
  const sessions: StandIns['sessions'] = new Map();
  const unused = async () => {
    throw new TesseraError('M_UNRECOGNIZED', 'not part of the stand-in');
  };
  const session = unaryService<SessionServiceServer>(
    'tessera.session.v1.SessionService',
    {
      getValidated3Pid: async ({ sid, clientSecret }: { sid: string; clientSecret: string }) => {
        const known = sessions.get(sid);
        if (known === undefined || ('secret' in known && known.secret !== clientSecret))
          throw new TesseraError('M_NO_VALID_SESSION', 'no valid session');
        if ('error' in known) throw known.error;
        return known.answer;
      },
      requestToken: unused,
      submitToken: unused,
      registerAccount: unused,
      authenticate: unused,
      logout: unused,
      getTerms: unused,
      acceptTerms: unused,
    } as never,
    { log, metrics },
  );
  const signing = unaryService<SigningServiceServer>(
    'tessera.signing.v1.SigningService',
    {
      signJson: async ({ json }: { json: string }) => ({ json: sign(json) }),
      signJsonBatch: async ({ json }: { json: string[] }) => {
        batches++;
        return { json: json.map(sign) };
      },
      getPublicKey: unused,
      listKeys: unused,
      isValid: unused,
      generateEphemeralKeypair: unused,
      signJsonWithSeed: unused,
    } as never,
    { log, metrics },
  );
  const server: RunningGrpcServer = await startGrpcServer({
    listen: { host: '127.0.0.1', port: 0 },
    services: [
      { name: 'tessera.session.v1.SessionService', definition: SessionServiceService, implementation: session },
      { name: 'tessera.signing.v1.SigningService', definition: SigningServiceService, implementation: signing },
    ],
    tls: null,
    allowedClients: [],
    log,
    metrics,
  });
  return {
    target: `127.0.0.1:${server.port}`,
    publicKey,
    sign,
    sessions,
    signBatchCalls: () => batches,
    stop: () => server.stop(1_000),
  };
}
