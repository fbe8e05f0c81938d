import { eventCodec, storedDecider } from '@tessera/event-store';
import { type TermsEvent, termsDecider } from '../domain/terms.js';

// The terms aggregate's events on the wire (tessera.events.v1) and back. The user is named by
// `user_key` only; the plaintext `user_id` of older events is not read: the subject is the user.

export const termsCodec = eventCodec<TermsEvent>({
  toPayload: ({ data: { userKey, urls } }) =>
    // user_id is deprecated: '' is proto3's default, which is not encoded at all.
    ({ $case: 'termsAccepted', value: { userId: '', userKey, urls } }),
  fromPayload: (payload, at) => {
    if (payload.$case !== 'termsAccepted') return null;
    const { userKey, urls } = payload.value;
    return { type: 'TermsAccepted', data: { userKey, urls, at } };
  },
});

/** `tessera.terms.<userKey>`, loaded and changed by handleCommand. */
export const storedTerms = storedDecider(termsDecider, termsCodec);
