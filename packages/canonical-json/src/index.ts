export { Base64Error, decodeBase64, encodeBase64, encodeBase64Url, tryDecodeBase64 } from './base64.js';
export { CanonicalJsonError, canonicalJson, compareCodePoints, isPlainObject } from './canonical-json.js';
export type { Ed25519KeyPair } from './ed25519.js';
export {
  generateSeed,
  keyPairFromSeed,
  PUBLIC_KEY_LENGTH,
  SEED_LENGTH,
  SIGNATURE_LENGTH,
  signDetached,
  verifyDetached,
} from './ed25519.js';
export type { Signatures, SignJsonOptions, VerifyJsonOptions } from './sign-json.js';
export { signJson, verifyJsonSignature } from './sign-json.js';
