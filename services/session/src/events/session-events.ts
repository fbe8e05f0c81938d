import { newEvent } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { mediumFromEvent, mediumToEvent } from '@tessera/spec-params';
import type { SessionEvent } from '../domain/session.js';

// The session aggregate's events on the wire (tessera.events.v1) and back.

export function toStoredEvent(event: SessionEvent): Event {
  switch (event.type) {
    case 'SessionStarted': {
      const { sid, medium, addrKey, clientSecretDigest, sealedAddress, sealedNextLink, at } = event.data;
      const value = {
        sid,
        medium: mediumToEvent(medium),
        addrKey,
        clientSecretDigest,
        address: sealedAddress,
        nextLink: sealedNextLink ?? undefined,
      };
      return newEvent({ $case: 'sessionStarted', value }, at);
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
      };
      return newEvent({ $case: 'tokenIssued', value }, event.data.at);
    }
    case 'TokenRejected': {
      const { sid, failedAttempts, at } = event.data;
      return newEvent({ $case: 'tokenRejected', value: { sid, failedAttempts } }, at);
    }
    case 'SessionLocked':
      return newEvent({ $case: 'sessionLocked', value: { sid: event.data.sid } }, event.data.at);
    case 'SessionValidated':
      return newEvent({ $case: 'sessionValidated', value: { sid: event.data.sid } }, event.data.at);
  }
}

/**
 * The session events of a stored history. Events of other kinds, and a session event that lacks a
 * field every writer sets (a sealed address, a known medium), are not the session's and are skipped.
 */
export function fromStoredEvents(events: readonly Event[]): SessionEvent[] {
  return events.flatMap((event): SessionEvent[] => {
    const at = event.occurredAt ?? new Date(0);
    const payload = event.payload;
    switch (payload?.$case) {
      case 'sessionStarted': {
        const { sid, medium, addrKey, clientSecretDigest, address, nextLink } = payload.value;
        const known = mediumFromEvent(medium);
        if (known === null || address === undefined) return [];
        const opening = { sid, medium: known, addrKey, clientSecretDigest, sealedAddress: address };
        return [{ type: 'SessionStarted', data: { ...opening, sealedNextLink: nextLink ?? null, at } }];
      }
      case 'tokenIssued': {
        const { sid, sendAttempt, tokenDigest, token, deliveryId, brand, clientIp, country, clientSecret } =
          payload.value;
        if (token === undefined || clientSecret === undefined) return [];
        const issue = { sendAttempt, tokenDigest, sealedToken: token, sealedClientIp: clientIp ?? null };
        const delivery = { sealedClientSecret: clientSecret, deliveryId, brand, country };
        return [{ type: 'TokenIssued', data: { ...issue, ...delivery, sid, at } }];
      }
      case 'tokenRejected':
        return [{ type: 'TokenRejected', data: { ...payload.value, at } }];
      case 'sessionLocked':
        return [{ type: 'SessionLocked', data: { sid: payload.value.sid, at } }];
      case 'sessionValidated':
        return [{ type: 'SessionValidated', data: { sid: payload.value.sid, at } }];
      default:
        return [];
    }
  });
}
