// Address rules, in one place: every service stores, hashes, compares and looks up 3PIDs in the
// form these functions return.
export { caseFold } from './case-fold.js';
export { CASE_FOLDING_UNICODE_VERSION } from './case-folding-table.js';
export { clientLowercaseEmail } from './client-lowercase.js';
export { normalizeEmail } from './email.js';
export { isMsisdn, type Msisdn, normalizeMsisdn } from './msisdn.js';
export { normalizeThreepid } from './threepid.js';
