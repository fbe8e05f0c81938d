import { answerJson } from '../answer.js';
import { requiredQuery } from '../query.js';
import type { InviteRouteDeps } from './invite-deps.js';
import { onBothTrees, onEachTree, type Route } from './route.js';
import { signEd25519Handler } from './sign-ed25519.js';
import { storeInviteHandler } from './store-invite.js';

/**
 * Every route served by the invite service, on both trees: store-invite, the ephemeral keys'
 * validity, and sign-ed25519. v2 needs a token and accepted terms on the two POSTs; v1 none.
 */
export function inviteRoutes(deps: InviteRouteDeps): Route[] {
  const { invite } = deps;
  return [
    ...onEachTree('POST', '/store-invite', (tree) => storeInviteHandler(deps, tree)),
    // Asked by the resident servers of rooms, once per invite they check: one call each.
    ...onBothTrees('GET', '/pubkey/ephemeral/isvalid', {
      answer: async (req) => {
        const { valid } = await invite.ephemeralKeyIsValid({ publicKey: requiredQuery(req, 'public_key') });
        return answerJson({ valid });
      },
    }),
    ...onEachTree('POST', '/sign-ed25519', (tree) => signEd25519Handler(deps, tree)),
  ];
}
