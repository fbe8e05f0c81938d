import type { DataKeys } from '@tessera/event-store';
import type { RequestTokenRequest } from '@tessera/proto/tessera/session/v1/session';
import { sessionAggregate } from '../aggregates.js';
import type { Medium, SessionCommand } from '../domain/session.js';
import type { Secrets } from '../secrets.js';
import { newDeliveryNonce, newValidationToken } from '../tokens.js';
import {
  checkAddress,
  checkClientSecret,
  checkCountry,
  checkMedium,
  checkNextLink,
  checkSendAttempt,
  cleanBrand,
  cleanClientIp,
} from './request-checks.js';

export type RequestTokenCommand = Extract<SessionCommand, { type: 'RequestToken' }>;

/**
 * A checked RequestToken, turned into the command: a fresh token, the digests, and every private
 * field sealed under `session.<sid>` with the names the notifier opens (address, next_link,
 * token, client_ip, client_secret). Nothing is stored yet.
 */
export async function requestTokenCommand(
  request: RequestTokenRequest,
  { secrets, dataKeys, now }: { secrets: Secrets; dataKeys: DataKeys; now: () => Date },
): Promise<{ command: RequestTokenCommand; medium: Medium }> {
  const medium = checkMedium(request.medium);
  const address = checkAddress(medium, request.address);
  const clientSecret = checkClientSecret(request.clientSecret);
  const sendAttempt = checkSendAttempt(request.sendAttempt);
  const nextLink = checkNextLink(request.nextLink);
  const country = checkCountry(medium, request.country);
  const clientIp = cleanClientIp(request.clientIp);

  const sid = secrets.sid(medium, address, clientSecret);
  const token = newValidationToken(medium);
  const seal = (field: string, plaintext: string) => dataKeys.sealField(sessionAggregate(sid), field, plaintext);
  const command: RequestTokenCommand = {
    type: 'RequestToken',
    opening: {
      sid,
      medium,
      addrKey: secrets.addrKey(medium, address),
      clientSecretDigest: secrets.digest('client_secret', clientSecret),
      sealedAddress: await seal('address', address),
      sealedNextLink: nextLink === null ? null : await seal('next_link', nextLink),
    },
    issue: {
      sendAttempt,
      tokenDigest: secrets.digest('token', token),
      sealedToken: await seal('token', token),
      sealedClientIp: clientIp === '' ? null : await seal('client_ip', clientIp),
      sealedClientSecret: await seal('client_secret', clientSecret),
      // Unique per decision: a session that starts over may see the same send_attempt again, and
      // the notifier sends at most once per delivery id.
      deliveryId: `${sid}-${sendAttempt}-${newDeliveryNonce()}`,
      brand: cleanBrand(request.brand),
      country,
    },
    now: now(),
  };
  return { command, medium };
}
