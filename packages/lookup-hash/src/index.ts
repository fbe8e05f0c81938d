// The v2 hashed lookup rules, in one place: the directory answers lookups and the projector
// builds the hashed index with these functions.
export {
  indexForms,
  indexHashes,
  isLookupAlgorithm,
  LOOKUP_ALGORITHMS,
  type LookupAlgorithm,
  lookupHash,
  noneLookupEntry,
  parseNoneLookupEntry,
} from './lookup-hash.js';
export { newLookupPepper, PEPPER_LENGTH } from './pepper.js';
