import { eventCodec, storedDecider } from '@tessera/event-store';
import { mediumFromEvent, mediumToEvent } from '@tessera/spec-params';
import { type InviteEvent, inviteDecider } from '../domain/invite.js';

// The invite aggregate's events on the wire (tessera.events.v1) and back. In clear only ids,
// keyed digests, the public ephemeral key, the brand and the expiry; the rest is sealed.

export const inviteCodec = eventCodec<InviteEvent>({
  toPayload: (event) => {
    switch (event.type) {
      case 'InviteStored': {
        const { at: _at, medium, mail, ...data } = event.data;
        return { $case: 'inviteStored', value: { ...data, medium: mediumToEvent(medium), mail: mail ?? undefined } };
      }
      case 'InviteClaimed':
        return { $case: 'inviteClaimed', value: { inviteId: event.data.inviteId, onbindId: event.data.onbindId } };
      case 'InviteRevoked':
        return { $case: 'inviteRevoked', value: { inviteId: event.data.inviteId } };
    }
  },
  fromPayload: (payload, at) => {
    switch (payload.$case) {
      case 'inviteStored': {
        const { medium: wireMedium, secrets, mail, expiresAt, ...rest } = payload.value;
        const medium = mediumFromEvent(wireMedium);
        if (medium === null || secrets === undefined || expiresAt === undefined) return null;
        // Only an imported invite has no mail (its mail was sent by the server it came from).
        if (mail === undefined && !rest.imported) return null;
        return { type: 'InviteStored', data: { ...rest, medium, secrets, mail: mail ?? null, expiresAt, at } };
      }
      case 'inviteClaimed':
        return { type: 'InviteClaimed', data: { ...payload.value, at } };
      case 'inviteRevoked':
        return { type: 'InviteRevoked', data: { ...payload.value, at } };
      default:
        return null;
    }
  },
});

/** `tessera.invite.<inviteId>`, loaded and changed by handleCommand. */
export const storedInvites = storedDecider(inviteDecider, inviteCodec);
