import { TesseraError } from '@tessera/errors';
import { answerJson } from '../answer.js';
import type { PublicKeys } from '../public-keys/public-keys.js';
import { requiredQuery } from '../query.js';
import { onBothTrees, type Route } from './route.js';

// algorithm:identifier (spec); anything else is answered here, without a look further.
const KEY_ID = /^[A-Za-z0-9]+:[A-Za-z0-9_]+$/;
const MAX_KEY_ID_LENGTH = 255;

/**
 * Answered from the keys the gateway follows (public-keys/): no backend call for a known key.
 * Hot routes: served on the lean path (lean-path.ts).
 */
export function pubkeyRoutes(keys: PublicKeys): Route[] {
  return [
    // Before /pubkey/:keyId, which would otherwise take "isvalid" for a key id.
    ...onBothTrees('GET', '/pubkey/isvalid', {
      answer: (req) => answerJson({ valid: keys.isValid(requiredQuery(req, 'public_key')) }),
    }),
    ...onBothTrees('GET', '/pubkey/:keyId', {
      answer: async (req) => {
        const keyId = String(req.params.keyId);
        const publicKey =
          keyId.length <= MAX_KEY_ID_LENGTH && KEY_ID.test(keyId) ? await keys.publicKeyOf(keyId) : null;
        if (publicKey === null) throw new TesseraError('M_NOT_FOUND', 'the requested key was not found');
        return answerJson({ public_key: publicKey });
      },
    }),
  ];
}
