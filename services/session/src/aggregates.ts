import { createHash } from 'node:crypto';
import { SUBJECT_PREFIX, subjectOf } from '@tessera/event-store';

// Where each aggregate of the session service lives. Ids are single subject tokens: sids are
// base64url already; tokens are hashed and user IDs keyed (userKey), so neither appears in a subject.

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

/** `tessera.session.<sid>` */
export const sessionSubject = (sid: string) => subjectOf('session', sid);
/** The aggregate name a session's fields are sealed under (and its data key is kept by). */
export const sessionAggregate = (sid: string) => `session.${sid}`;
/**
 * An account: `tessera.account.<base64url sha256(access token)>` (a plain hash is enough for 64
 * random characters), and the aggregate its user ID is sealed under.
 */
export const accountOf = (accessToken: string) => {
  const id = sha256(accessToken);
  return { subject: subjectOf('account', id), aggregate: `account.${id}` };
};
/** `tessera.terms.<userKey>`: the user's pseudonym (Secrets.userKey), which only the server secret gives. */
export const termsSubject = (userKey: string) => subjectOf('terms', userKey);
/**
 * `tessera.terms.<base64url sha256(user id)>`: where acceptances were written before the subject
 * was keyed. Read beside termsSubject, so that they still count; never written to.
 */
export const legacyTermsSubject = (userId: string) => subjectOf('terms', sha256(userId));
/** `tessera.delivery.<delivery id>`: written by the notifier. */
export const deliverySubject = (deliveryId: string) => subjectOf('delivery', deliveryId);
/** Every subject of an aggregate type, for a core subscription: `tessera.<type>.>`. */
export const everySubjectOf = (type: 'account' | 'terms' | 'delivery') => `${SUBJECT_PREFIX}.${type}.>`;

/** Session ids this service makes (22 base64url characters), or anything else a subject token can be. */
const SID = /^[A-Za-z0-9_-]{1,255}$/;
export const isStorableSid = (sid: string) => SID.test(sid);
