import { storeFailuresUnavailable } from '@tessera/event-store';
import type {
  EphemeralKeyIsValidRequest,
  InviteServiceServer,
  SignEd25519Request,
  StoreInviteRequest,
} from '@tessera/proto/tessera/invite/v1/invite';
import { type UnaryContext, unaryService } from '@tessera/service-kit';
import { type Invites, urlSafeUnpadded } from '../invites.js';
import type { ReadModel } from '../read-model.js';

export const INVITE_SERVICE_NAME = 'tessera.invite.v1.InviteService';

export interface InviteServiceDeps {
  invites: Invites;
  readModel: ReadModel;
  now: () => number;
}

/** The grpc-js implementation of InviteService; every handler's errors go through toServiceError. */
export function inviteService(
  { invites, readModel, now }: InviteServiceDeps,
  context: UnaryContext,
): InviteServiceServer {
  const handlers = {
    storeInvite: (request: StoreInviteRequest) => invites.store(request),
    ephemeralKeyIsValid: async ({ publicKey }: EphemeralKeyIsValidRequest) => ({
      valid: await readModel.ephemeralKeyIsValid(urlSafeUnpadded(publicKey), now()),
    }),
    signEd25519: async ({ mxid, token, privateKey }: SignEd25519Request) => ({
      signedJson: await invites.signEd25519({ mxid, token, privateKey }),
    }),
  };
  return unaryService<InviteServiceServer>(INVITE_SERVICE_NAME, storeFailuresUnavailable(handlers), context);
}
