// What the session service appends for a requestToken, written the way it will write it, for
// this service's integration tests. Not used by the service itself.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { type DataKeys, type EventStore, newEvent, subjectOf } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { type Medium, mediumToEvent, SESSION_SEALED_FIELDS as SEALED } from '@tessera/spec-params';

export type RequestedToken = {
  sid: string;
  deliveryId: string;
  address: string;
  token: string;
  clientSecret: string;
  clientIp: string;
  /** The TokenIssued event, as appended (for appending it again). */
  issued: Event;
};

let counter = 0;
const unique = (prefix: string) => `${prefix}${process.pid}x${++counter}x${randomBytes(3).toString('hex')}`;

/**
 * Appends SessionStarted and TokenIssued in one decision to `tessera.session.<sid>`, with the
 * address, token, client secret and client IP sealed under `session.<sid>` and the agreed names.
 * `erase: true` erases the session's data key right after sealing, before anything is appended.
 */
export async function requestToken(
  { store, dataKeys }: { store: EventStore; dataKeys: DataKeys },
  options: {
    medium: Medium;
    address: string;
    /** Email: the address as the client lower-cased it, where it differs from `address`. */
    clientLowercaseAddress?: string;
    brand?: string;
    erase?: boolean;
    country?: string;
    deliveryId?: string;
    /** Imported with its session from another server (TokenIssued.imported): nothing to deliver. */
    imported?: boolean;
  },
): Promise<RequestedToken> {
  const sid = unique('sid');
  const deliveryId = options.deliveryId ?? unique('dlv');
  // Like Sydent's: letters and digits for a mail, six digits for an SMS.
  const token = options.medium === 'email' ? unique('Tok') : String(randomInt(100_000, 1_000_000));
  const clientSecret = unique('cs.');
  const clientIp = `198.51.100.${counter % 250}`;
  const aggregate = `session.${sid}`;
  const seal = (field: string, value: string) => dataKeys.sealField(aggregate, field, value);
  const started = newEvent(
    {
      $case: 'sessionStarted',
      value: {
        sid,
        medium: mediumToEvent(options.medium),
        addrKey: `hmac-of-${sid}`,
        clientSecretDigest: `digest-of-${sid}`,
        address: await seal(SEALED.address, options.address),
        nextLink: undefined,
        clientLowercaseAddress:
          options.clientLowercaseAddress === undefined
            ? undefined
            : await seal(SEALED.clientLowercaseAddress, options.clientLowercaseAddress),
      },
    },
    new Date(),
  );
  const issued = await tokenIssued(dataKeys, {
    sid,
    sendAttempt: 1,
    token,
    deliveryId,
    clientIp,
    clientSecret,
    ...options,
  });
  if (options.erase) await dataKeys.erase(aggregate);
  await store.append(subjectOf('session', sid), [started, issued], {
    expectedSeq: 0,
    correlationId: `req-${randomUUID()}`,
  });
  return { sid, deliveryId, address: options.address, token, clientSecret, clientIp, issued };
}

/**
 * A resend: a new TokenIssued (next send_attempt, new token and delivery) appended on its own to
 * a session started earlier, as requestToken with a higher send_attempt does.
 */
export async function requestTokenAgain(
  { store, dataKeys }: { store: EventStore; dataKeys: DataKeys },
  previous: RequestedToken,
): Promise<RequestedToken> {
  const token = unique('Again');
  const deliveryId = unique('dlv');
  const { sid, clientIp, clientSecret } = previous;
  const issued = await tokenIssued(dataKeys, { sid, sendAttempt: 2, token, deliveryId, clientIp, clientSecret });
  const subject = subjectOf('session', sid);
  const { lastSeq } = await store.load(subject);
  await store.append(subject, [issued], { expectedSeq: lastSeq, correlationId: `req-${randomUUID()}` });
  return { ...previous, deliveryId, token, issued };
}

async function tokenIssued(
  dataKeys: DataKeys,
  options: {
    sid: string;
    sendAttempt: number;
    token: string;
    deliveryId: string;
    clientIp: string;
    clientSecret: string;
    brand?: string;
    country?: string;
    imported?: boolean;
  },
): Promise<Event> {
  const { sid, sendAttempt, token, deliveryId, clientIp, clientSecret } = options;
  const seal = (field: string, value: string) => dataKeys.sealField(`session.${sid}`, field, value);
  return newEvent(
    {
      $case: 'tokenIssued',
      value: {
        sid,
        sendAttempt,
        tokenDigest: `token-digest-of-${sid}-${sendAttempt}`,
        token: await seal(SEALED.token, token),
        deliveryId,
        brand: options.brand ?? '',
        clientIp: await seal(SEALED.clientIp, clientIp),
        country: options.country ?? '',
        clientSecret: await seal(SEALED.clientSecret, clientSecret),
        imported: options.imported ?? false,
      },
    },
    new Date(),
  );
}
