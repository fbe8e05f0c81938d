import type { SigningServiceServer } from '@tessera/proto/tessera/signing/v1/signing';
import { type UnaryContext, type UnaryHandlers, unaryService } from '../src/unary.js';

/**
 * A service shaped like signing, for exercising the kit: `getPublicKey` is the test's, every
 * other method answers an empty value (or echoes the JSON it was given).
 */
export function signingStub(
  getPublicKey: UnaryHandlers<SigningServiceServer>['getPublicKey'],
  context: UnaryContext,
): SigningServiceServer {
  return unaryService<SigningServiceServer>(
    'tessera.signing.v1.SigningService',
    {
      getPublicKey,
      listKeys: async () => ({ keys: [] }),
      isValid: async () => ({ valid: true }),
      signJson: async ({ json }) => ({ json }),
      signJsonBatch: async ({ json }) => ({ json }),
      generateEphemeralKeypair: async () => ({ publicKey: '', privateKey: '' }),
      signJsonWithSeed: async ({ json }) => ({ json }),
    },
    context,
  );
}
