import { eventCodec, storedDecider } from '@tessera/event-store';
import { mediumFromEvent, mediumToEvent } from '@tessera/spec-params';
import { type SessionEvent, sessionDecider } from '../domain/session.js';

// The session aggregate's events on the wire (tessera.events.v1) and back.

/**
 * Events of other kinds, and a session event that lacks a field every writer sets (a sealed
 * address, a known medium), are not the session's and are skipped.
 */
export const sessionCodec = eventCodec<SessionEvent>({
  toPayload(event) {
    switch (event.type) {
      case 'SessionStarted': {
        const { sid, medium, addrKey, clientSecretDigest, sealedAddress, sealedNextLink } = event.data;
        const value = {
          sid,
          medium: mediumToEvent(medium),
          addrKey,
          clientSecretDigest,
          address: sealedAddress,
          nextLink: sealedNextLink ?? undefined,
          clientLowercaseAddress: event.data.sealedClientLowercaseAddress ?? undefined,
        };
        return { $case: 'sessionStarted', value };
      }
      case 'TokenIssued': {
        const { sid, sendAttempt, tokenDigest, sealedToken, deliveryId, brand, sealedClientIp, country } = event.data;
        const value = {
          sid,
          sendAttempt,
          tokenDigest,
          token: sealedToken,
          deliveryId,
          brand,
          clientIp: sealedClientIp ?? undefined,
          country,
          clientSecret: event.data.sealedClientSecret,
          imported: event.data.imported,
        };
        return { $case: 'tokenIssued', value };
      }
      case 'TokenRejected': {
        const { sid, failedAttempts } = event.data;
        return { $case: 'tokenRejected', value: { sid, failedAttempts } };
      }
      case 'SessionLocked':
        return { $case: 'sessionLocked', value: { sid: event.data.sid } };
      case 'SessionValidated':
        return { $case: 'sessionValidated', value: { sid: event.data.sid } };
      case 'SessionImportedAs':
        return { $case: 'sessionImportedAs', value: { sid: event.data.sid, importedSid: event.data.importedSid } };
    }
  },
  fromPayload(payload, at) {
    switch (payload.$case) {
      case 'sessionStarted': {
        const { sid, medium, addrKey, clientSecretDigest, address, nextLink, clientLowercaseAddress } = payload.value;
        const known = mediumFromEvent(medium);
        if (known === null || address === undefined) return null;
        const opening = {
          medium: known,
          addrKey,
          clientSecretDigest,
          sealedAddress: address,
          sealedNextLink: nextLink ?? null,
          // Absent from every SessionStarted written before it existed: none, as for an ASCII address.
          sealedClientLowercaseAddress: clientLowercaseAddress ?? null,
        };
        return { type: 'SessionStarted', data: { ...opening, sid, at } };
      }
      case 'tokenIssued': {
        const { sid, sendAttempt, tokenDigest, token, deliveryId, brand, clientIp, country, clientSecret, imported } =
          payload.value;
        if (token === undefined || clientSecret === undefined) return null;
        const issue = { tokenDigest, sealedToken: token, sealedClientIp: clientIp ?? null };
        const delivery = { sealedClientSecret: clientSecret, deliveryId, brand, country };
        return { type: 'TokenIssued', data: { ...issue, ...delivery, sid, sendAttempt, imported, at } };
      }
      case 'tokenRejected':
        return { type: 'TokenRejected', data: { ...payload.value, at } };
      case 'sessionLocked':
        return { type: 'SessionLocked', data: { sid: payload.value.sid, at } };
      case 'sessionValidated':
        return { type: 'SessionValidated', data: { sid: payload.value.sid, at } };
      case 'sessionImportedAs': {
        const { sid, importedSid } = payload.value;
        return importedSid === '' ? null : { type: 'SessionImportedAs', data: { sid, importedSid, at } };
      }
      default:
        return null;
    }
  },
});

/** `tessera.session.<sid>`, loaded and changed by handleCommand. */
export const storedSessions = storedDecider(sessionDecider, sessionCodec);
