import { clientLowercaseEmail, normalizeThreepid } from '@tessera/addresses';
import { TesseraError } from '@tessera/errors';
import { type DataKeys, type EventStore, handleCommand } from '@tessera/event-store';
import type { Secrets } from '@tessera/server-secret';
import type { Clock } from '@tessera/service-kit';
import {
  type Medium,
  parseClientSecret,
  parseValidationToken,
  SESSION_SEALED_FIELDS as SEALED,
} from '@tessera/spec-params';
import { sessionAggregate, sessionSubject } from '../aggregates.js';
import { type ImportSession, importSessionEffect, type NewToken, type Opening } from '../domain/session.js';
import { storedSessions } from '../events/session-events.js';
import { fieldsOf, IMPORTED, type ImportItem, millisecondsOf, PRESENT, stringOf } from './import-batch.js';

export type SessionImportDeps = { store: EventStore; dataKeys: DataKeys; secrets: Secrets; now: Clock };

/**
 * Sydent's sids: its integer primary key (random in 0..2^31), as a decimal string. They can never
 * equal a sid this service makes, which is always 22 base64url characters (Secrets.sid): a decimal
 * of at most 19 digits (SQLite's largest integer) is shorter. So an imported session and a native
 * one never share a subject.
 */
export const IMPORTED_SID = /^[0-9]{1,19}$/;

type CheckedSession = {
  sid: string;
  medium: Medium;
  /** Normalised, as requestToken's gateway normalises what is typed. */
  address: string;
  /** The typed address as matrix-js-sdk lower-cases it, where that differs (email only); else ''. */
  clientLowercaseAddress: string;
  clientSecret: string;
  token: string;
  validated: boolean;
  mtime: Date;
};

/**
 * `import/sessions`: each session goes on as if requestToken had started it here at its `mtime`
 * with the address as entered there (the same sid, client secret and token; its token issued as
 * imported, so nothing is sent; validated when it was), and its 24 h run from `mtime`; the sid
 * this service makes for its medium, address and client secret forwards requestToken to it. Nothing
 * is made or sealed for a session that is here already (`present`) or refused.
 */
export function sessionImporter({ store, dataKeys, secrets, now }: SessionImportDeps): ImportItem {
  return async (item) => {
    const session = parseSessionImport(item);
    const { sid, medium, address, clientSecret, token } = session;
    const aggregate = sessionAggregate(sid);
    const seal = (field: string, plaintext: string) => dataKeys.sealField(aggregate, field, plaintext);
    const sealSession = async (): Promise<{ opening: Opening; token: NewToken }> => {
      await dataKeys.createKey(aggregate);
      const lowercase = session.clientLowercaseAddress;
      return {
        opening: {
          medium,
          addrKey: secrets.addrKey(medium, address),
          clientSecretDigest: secrets.digest('client_secret', clientSecret),
          sealedAddress: await seal(SEALED.address, address),
          sealedNextLink: null, // Sydent keeps none: it travels in the mailed link
          sealedClientLowercaseAddress: lowercase === '' ? null : await seal(SEALED.clientLowercaseAddress, lowercase),
        },
        token: {
          tokenDigest: secrets.digest('token', token),
          sealedToken: await seal(SEALED.token, token),
          sealedClientIp: null,
          sealedClientSecret: await seal(SEALED.clientSecret, clientSecret),
          deliveryId: `${sid}-imported`, // names no delivery: the notifier skips an imported token
          brand: '',
          country: '',
        },
      };
    };
    const command: ImportSession = {
      type: 'ImportSession',
      sid,
      medium,
      clientSecretDigest: secrets.digest('client_secret', clientSecret),
      tokenDigest: secrets.digest('token', token),
      validated: session.validated,
      modifiedAt: session.mtime,
      sealed: null,
      now: now(),
    };
    let sealed: Promise<{ opening: Opening; token: NewToken }> | undefined;
    const { events } = await handleCommand(store, sessionSubject(sid), storedSessions, async ({ state }) => {
      // Refusals come from here, before anything is made; a session that starts is sealed once.
      if (importSessionEffect(state, command) === 'present') return command;
      sealed ??= sealSession();
      return { ...command, sealed: await sealed };
    });
    // Then requestToken with the same medium, address and client secret finds it, as Sydent would.
    const ownSid = secrets.sid(medium, address, clientSecret);
    const forward = { type: 'ForwardToImported', sid: ownSid, importedSid: sid, now: session.mtime } as const;
    const forwarded = await handleCommand(store, sessionSubject(ownSid), storedSessions, forward);
    return events.length === 0 && forwarded.events.length === 0 ? PRESENT : IMPORTED;
  };
}

function parseSessionImport(item: unknown): CheckedSession {
  const fields = fieldsOf(item);
  const sid = stringOf(fields.sid, 'sid');
  if (!IMPORTED_SID.test(sid)) throw new TesseraError('M_INVALID_PARAM', 'sid must be a decimal of 1 to 19 digits');
  const { medium } = fields;
  if (medium !== 'email' && medium !== 'msisdn')
    throw new TesseraError('M_INVALID_PARAM', 'medium must be email or msisdn');
  const typed = stringOf(fields.address, 'address');
  if (typeof fields.validated !== 'boolean') throw new TesseraError('M_INVALID_PARAM', 'validated must be a boolean');
  return {
    sid,
    medium,
    address: normalizeThreepid(medium, typed),
    clientLowercaseAddress: medium === 'email' ? (clientLowercaseEmail(typed) ?? '') : '',
    clientSecret: parseClientSecret(stringOf(fields.clientSecret, 'clientSecret')),
    token: parseValidationToken(stringOf(fields.token, 'token')),
    validated: fields.validated,
    mtime: millisecondsOf(fields.mtime, 'mtime'),
  };
}
