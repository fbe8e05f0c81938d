import type { DataKeys } from '@tessera/event-store';
import type { RequestTokenRequest } from '@tessera/proto/tessera/session/v1/session';
import {
  brandOf,
  parseClientSecret,
  parseGrpcMedium,
  parseNextLink,
  parseSendAttempt,
  SESSION_SEALED_FIELDS as SEALED,
} from '@tessera/spec-params';
import { sessionAggregate } from '../aggregates.js';
import type { Medium, SessionCommand } from '../domain/session.js';
import type { Secrets } from '../secrets.js';
import { newDeliveryNonce, newValidationToken } from '../tokens.js';
import { checkCountry, cleanClientIp } from './request-checks.js';

export type RequestTokenCommand = Extract<SessionCommand, { type: 'RequestToken' }>;

/**
 * A checked RequestToken: the sid, the delivery id and the clock are fixed; `command` then makes a
 * fresh token, the digests, and seals every private field under `session.<sid>` with the names the
 * notifier opens (SESSION_SEALED_FIELDS). Nothing is stored yet.
 */
export type RequestTokenPlan = {
  medium: Medium;
  sid: string;
  sendAttempt: number;
  deliveryId: string;
  now: Date;
  /**
   * `fresh`: the session has no events, so its data key is made without looking for one first.
   * Its `previousDelivery` is null: the caller reads that for each decision.
   */
  command(fresh: boolean): Promise<RequestTokenCommand>;
};

export function planRequestToken(
  request: RequestTokenRequest,
  { secrets, dataKeys, now }: { secrets: Secrets; dataKeys: DataKeys; now: () => Date },
): RequestTokenPlan {
  const medium = parseGrpcMedium(request.medium);
  const address = request.address; // normalised by the gateway, the one place that does it
  const clientSecret = parseClientSecret(request.clientSecret);
  const sendAttempt = parseSendAttempt(request.sendAttempt);
  const nextLink = parseNextLink(request.nextLink);
  const country = checkCountry(medium, request.country);
  const clientIp = cleanClientIp(request.clientIp);

  const sid = secrets.sid(medium, address, clientSecret);
  const aggregate = sessionAggregate(sid);
  // Unique per decision: a session that starts over may see the same send_attempt again, and
  // the notifier sends at most once per delivery id.
  const deliveryId = `${sid}-${sendAttempt}-${newDeliveryNonce()}`;
  const at = now();
  const seal = (field: string, plaintext: string) => dataKeys.sealField(aggregate, field, plaintext);
  return {
    medium,
    sid,
    sendAttempt,
    deliveryId,
    now: at,
    async command(fresh) {
      if (fresh) await dataKeys.createKey(aggregate);
      const token = newValidationToken(medium);
      return {
        type: 'RequestToken',
        opening: {
          sid,
          medium,
          addrKey: secrets.addrKey(medium, address),
          clientSecretDigest: secrets.digest('client_secret', clientSecret),
          sealedAddress: await seal(SEALED.address, address),
          sealedNextLink: nextLink === null ? null : await seal(SEALED.nextLink, nextLink),
        },
        issue: {
          sendAttempt,
          tokenDigest: secrets.digest('token', token),
          sealedToken: await seal(SEALED.token, token),
          sealedClientIp: clientIp === '' ? null : await seal(SEALED.clientIp, clientIp),
          sealedClientSecret: await seal(SEALED.clientSecret, clientSecret),
          deliveryId,
          brand: brandOf(request.brand) ?? '',
          country,
        },
        previousDelivery: null,
        now: at,
      };
    },
  };
}
