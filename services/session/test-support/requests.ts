// What this package's tests send and configure, in one place; not used by the service.
import { Medium, type RequestTokenRequest } from '@tessera/proto/tessera/session/v1/session';

export const TOS_EN = 'https://example.org/tos-2.0-en.html';
export const TOS_FR = 'https://example.org/tos-2.0-fr.html';
export const PRIVACY_EN = 'https://example.org/privacy-1.0-en.html';

/** Two policies, the first in two languages: a terms file in Sydent's format. */
export const TERMS_YAML = `
master_version: "1"
docs:
  terms_of_service:
    version: "2.0"
    langs:
      en: { name: "Terms of Service", url: "${TOS_EN}" }
      fr: { name: "Conditions d'utilisation", url: "${TOS_FR}" }
  privacy_policy:
    version: "1.0"
    langs:
      en: { name: "Privacy Policy", url: "${PRIVACY_EN}" }
`;

/** A RequestToken as the gateway sends it for an email (address normalised), with nothing optional set. */
export function emailTokenRequest(
  fields: Pick<RequestTokenRequest, 'address' | 'clientSecret' | 'sendAttempt'> & Partial<RequestTokenRequest>,
): RequestTokenRequest {
  return {
    medium: Medium.MEDIUM_EMAIL,
    nextLink: '',
    brand: '',
    clientIp: '',
    country: '',
    accessToken: '',
    clientLowercaseAddress: '',
    ...fields,
  };
}
