import { TesseraError } from '@tessera/errors';
import type { SigningServiceClient } from '@tessera/proto/tessera/signing/v1/signing';
import type { DeadlineClient } from '@tessera/service-kit';
import { requiredQuery } from '../query.js';
import { onBothTrees, type Route } from './route.js';

const KEY_ID = /^[A-Za-z0-9]+:[A-Za-z0-9_]+$/;

export function pubkeyRoutes(signing: DeadlineClient<SigningServiceClient>): Route[] {
  return [
    // Before /pubkey/:keyId, which would otherwise take "isvalid" for a key id.
    ...onBothTrees('GET', '/pubkey/isvalid', async (req, res) => {
      const { valid } = await signing.isValid({ publicKey: requiredQuery(req, 'public_key') });
      res.json({ valid });
    }),
    ...onBothTrees('GET', '/pubkey/:keyId', async (req, res) => {
      const keyId = String(req.params.keyId);
      if (!KEY_ID.test(keyId)) throw new TesseraError('M_NOT_FOUND', 'the requested key was not found');
      const { key } = await signing.getPublicKey({ keyId });
      if (!key) throw new TesseraError('M_NOT_FOUND', 'the requested key was not found');
      res.json({ public_key: key.publicKey });
    }),
  ];
}
