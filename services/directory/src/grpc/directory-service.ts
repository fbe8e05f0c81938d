import { passingErrorsOn, TesseraError } from '@tessera/errors';
import { storeFailuresUnavailable } from '@tessera/event-store';
import type { XMatrixVerifier } from '@tessera/federation-client';
import { LOOKUP_ALGORITHMS } from '@tessera/lookup-hash';
import type {
  BindRequest,
  DirectoryServiceServer,
  UnbindRequest as GrpcUnbindRequest,
  HashedLookupRequest,
  LookupRequest,
} from '@tessera/proto/tessera/directory/v1/directory';
import type { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import type { Secrets } from '@tessera/server-secret';
import { type DeadlineClient, type UnaryContext, unaryService } from '@tessera/service-kit';
import { type Medium, mediumFromGrpc, parseGrpcMedium, parseUserId } from '@tessera/spec-params';
import type { Binder } from '../binder.js';
import type { UnbindAuthority } from '../domain/association.js';
import type { Peppers } from '../peppers.js';
import type { ReadModel } from '../read-model.js';
import { hashedLookup } from './hashed-lookup.js';

export const DIRECTORY_SERVICE_NAME = 'tessera.directory.v1.DirectoryService';

export interface DirectoryDeps {
  binder: Binder;
  readModel: ReadModel;
  peppers: Peppers;
  secrets: Secrets;
  session: DeadlineClient<SessionServiceClient>;
  /** Verifies a homeserver's X-Matrix signature (its keys fetched and cached); answers the origin. */
  verifier: XMatrixVerifier;
  maxAddresses: number;
  now: () => number;
}

/** The grpc-js implementation of DirectoryService; every handler's errors go through toServiceError. */
export function directoryService(deps: DirectoryDeps, context: UnaryContext): DirectoryServiceServer {
  const { binder, readModel, peppers, secrets, session, now } = deps;

  const validated3pid = async (sid: string, clientSecret: string) => {
    const answer = await passingErrorsOn(() => session.getValidated3Pid({ sid, clientSecret }), 'session');
    const medium = mediumFromGrpc(answer.medium);
    if (medium === null) throw new Error('session answered an unknown medium');
    return { ...answer, medium };
  };

  /** Who may end the binding, by the request's proof: M_FORBIDDEN when it proves nothing for it. */
  const authorityOf = async (request: GrpcUnbindRequest, medium: Medium): Promise<UnbindAuthority> => {
    const { proof } = request;
    switch (proof?.$case) {
      case 'session': {
        const threepid = await validated3pid(proof.value.sid, proof.value.clientSecret);
        if (threepid.medium !== medium || threepid.address !== request.address)
          throw new TesseraError('M_FORBIDDEN', 'the session does not belong to this 3PID');
        return 'session';
      }
      case 'homeserver': {
        const { method, uri, authorization, contentJson } = proof.value;
        const origin = await deps.verifier.verifyXMatrix({
          method,
          uri,
          authorization,
          content: parseContent(contentJson),
        });
        if (!request.mxid.endsWith(`:${origin}`))
          throw new TesseraError('M_FORBIDDEN', 'Origin server name does not match mxid');
        return 'homeserver';
      }
      default:
        throw new TesseraError('M_FORBIDDEN', 'neither a validated session nor a homeserver signature');
    }
  };

  const handlers = {
    bind: async ({ sid, clientSecret, mxid: given }: BindRequest) => {
      // The gateway checked it; checked again here, with the same rule, before anything is signed.
      const mxid = parseUserId(given);
      const threepid = await validated3pid(sid, clientSecret);
      const associationJson = await binder.bind({
        medium: threepid.medium,
        address: threepid.address,
        mxid,
        clientLowercaseAddress: threepid.clientLowercaseAddress,
        source: 'session',
      });
      return { associationJson };
    },
    unbind: async (request: GrpcUnbindRequest) => {
      const medium = parseGrpcMedium(request.medium);
      const authority = await authorityOf(request, medium);
      await binder.unbind({ medium, address: request.address, mxid: request.mxid, authority });
      return {};
    },
    lookup: async ({ threepids, mxidOnly }: LookupRequest) => {
      const keys = threepids.map(({ medium, address }) => secrets.addrKey(parseGrpcMedium(medium), address));
      if (mxidOnly) {
        const mxids = await readModel.mxidsByAddrKeys(keys, now());
        return { results: keys.map((key) => ({ associationJson: '', mxid: mxids.get(key) ?? '' })) };
      }
      const found = await readModel.byAddrKeys(keys, now());
      return {
        results: keys.map((key) => {
          const hit = found.get(key);
          return hit === undefined ? { associationJson: '', mxid: '' } : hit;
        }),
      };
    },
    hashDetails: async () => ({ lookupPepper: peppers.current().pepper, algorithms: [...LOOKUP_ALGORITHMS] }),
    hashedLookup: async ({ queries }: HashedLookupRequest) => ({
      answers: await hashedLookup(queries, deps),
    }),
  };
  return unaryService<DirectoryServiceServer>(DIRECTORY_SERVICE_NAME, storeFailuresUnavailable(handlers), context);
}

/** The signed request's body: JSON as the gateway forwarded it (absent: no `content` was signed). */
function parseContent(contentJson: string): unknown {
  if (contentJson === '') return undefined;
  try {
    return JSON.parse(contentJson) as unknown;
  } catch {
    throw new TesseraError('M_NOT_JSON', 'the signed request body is not JSON');
  }
}
