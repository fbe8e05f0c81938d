import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deciderSpec } from '@tessera/test-harness';
import { allAccepted, type Policy, type TermsCommand, type TermsEvent, termsDecider } from './terms.js';

const given = deciderSpec(termsDecider);

const T0 = new Date('2025-01-15T10:00:00Z');
const USER_KEY = 'alice-user-key';
const TOS_EN = 'https://example.org/tos-2.0-en.html';
const TOS_FR = 'https://example.org/tos-2.0-fr.html';
const PRIVACY_EN = 'https://example.org/privacy-1.0-en.html';
const POLICIES: Policy[] = [
  { id: 'terms_of_service', version: '2.0', urls: [TOS_EN, TOS_FR] },
  { id: 'privacy_policy', version: '1.0', urls: [PRIVACY_EN] },
];
const accept = (...urls: string[]): TermsCommand => ({
  type: 'AcceptTerms',
  userKey: USER_KEY,
  urls,
  policies: POLICIES,
  now: T0,
});
const accepted = (...urls: string[]): TermsEvent => ({
  type: 'TermsAccepted',
  data: { userKey: USER_KEY, urls, at: T0 },
});

describe('the terms aggregate', () => {
  it('records the URLs a user accepts', () =>
    given([])
      .when(accept(TOS_EN))
      .then([accepted(TOS_EN)]));

  it('records only URLs not accepted before, once each', () =>
    given([accepted(TOS_EN)])
      .when(accept(TOS_EN, PRIVACY_EN, PRIVACY_EN))
      .then([accepted(PRIVACY_EN)]));

  it('records nothing when everything posted was accepted already', () =>
    given([accepted(TOS_EN)])
      .when(accept(TOS_EN))
      .then([]));

  it('refuses a URL that is no current policy URL with M_INVALID_PARAM naming it', () =>
    given([])
      .when(accept(TOS_EN, 'https://example.org/tos-1.0-en.html'))
      .thenThrows({ errcode: 'M_INVALID_PARAM', message: /tos-1\.0-en\.html/ }));

  it('keeps earlier acceptances: the full set is never assumed to be posted', () =>
    assert.equal(allAccepted(given([accepted(TOS_EN), accepted(PRIVACY_EN)]).state, POLICIES), true));

  it('counts one language of a policy as accepting the policy', () =>
    assert.equal(allAccepted(given([accepted(TOS_FR), accepted(PRIVACY_EN)]).state, POLICIES), true));

  it('is not all accepted while one policy has no accepted URL', () =>
    assert.equal(allAccepted(given([accepted(TOS_EN, TOS_FR)]).state, POLICIES), false));

  it('does not count the URL of an older version for the current one', () => {
    const newer: Policy[] = [{ id: 'terms_of_service', version: '3.0', urls: ['https://example.org/tos-3.0-en.html'] }];
    assert.equal(allAccepted(given([accepted(TOS_EN)]).state, newer), false);
  });

  it('has everything accepted when there are no policies', () => assert.equal(allAccepted(given([]).state, []), true));

  describe('acceptances imported from another server', () => {
    const imported = (...urls: string[]): TermsCommand => ({
      type: 'ImportAcceptances',
      userKey: USER_KEY,
      urls,
      now: T0,
    });
    const OLD_TOS = 'https://example.org/tos-1.0-en.html';

    it('records URLs of no current policy too: that history may name older policies', () =>
      given([])
        .when(imported(OLD_TOS, TOS_FR))
        .then([accepted(OLD_TOS, TOS_FR)]));

    it('records only the URLs not accepted before, and nothing when none is new', () => {
      given([accepted(TOS_FR)])
        .when(imported(TOS_FR, PRIVACY_EN, PRIVACY_EN))
        .then([accepted(PRIVACY_EN)]);
      given([accepted(TOS_FR, PRIVACY_EN)])
        .when(imported(PRIVACY_EN, TOS_FR))
        .then([]);
    });

    it('signs a user whose URLs cover every current policy in some language, and no one else', () => {
      const after = (...urls: string[]) =>
        given([])
          .when(imported(...urls))
          .stateAfter();
      assert.equal(allAccepted(after(TOS_FR, PRIVACY_EN), POLICIES), true);
      assert.equal(allAccepted(after(OLD_TOS, TOS_EN), POLICIES), false);
    });
  });
});
