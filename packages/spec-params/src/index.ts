// The identity service spec's request parameters, each parsed by one rule that the gateway (which
// refuses bad input with Matrix errors) and the services behind it (which check again only what
// their own invariants need) share; the one Medium type with its wire mappings; and the sealed
// field names of a validation session, shared by the session service and the notifier.
export { brandOf } from './brand.js';
export { parseClientSecret, parseRoomId, parseSid, parseUserId, parseValidationToken } from './identifiers.js';
export {
  type Medium,
  mediumFromEvent,
  mediumFromGrpc,
  mediumToEvent,
  mediumToGrpc,
  parseGrpcMedium,
} from './medium.js';
export { parseNextLink } from './next-link.js';
export { parseTokenType } from './openid-credentials.js';
export {
  ASSOCIATION_SEALED_FIELDS,
  bindingDataKey,
  INVITE_SEALED_FIELDS,
  inviteDataKey,
  inviteMailDataKey,
  onbindDataKey,
  SESSION_SEALED_FIELDS,
  type SessionSealedField,
} from './sealed-fields.js';
export { parseSendAttempt } from './send-attempt.js';
