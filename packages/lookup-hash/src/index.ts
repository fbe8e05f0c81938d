// The v2 hashed lookup rules, in one place: the directory answers lookups and the projector
// builds the hashed index with lookupHash; indexForms states which forms of an address are indexed
// (the projector receives the second one, the client's, sealed in AssociationBound).
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
