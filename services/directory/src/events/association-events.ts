import { eventCodec, storedDecider } from '@tessera/event-store';
import { BindingSource, UnbindAuthority } from '@tessera/proto/tessera/events/v1/association';
import { mediumFromEvent, mediumToEvent } from '@tessera/spec-params';
import {
  type AssociationEvent,
  type UnbindAuthority as Authority,
  associationDecider,
  type BindingSource as Source,
} from '../domain/association.js';

// The association aggregate's events on the wire (tessera.events.v1) and back. Nothing in them
// names the 3PID or the user: the address key and user key are keyed digests, the association sealed.

const SOURCES = {
  session: BindingSource.BINDING_SOURCE_SESSION,
  admin: BindingSource.BINDING_SOURCE_ADMIN,
  import: BindingSource.BINDING_SOURCE_IMPORT,
} as const satisfies Record<Source, BindingSource>;
const AUTHORITIES = {
  session: UnbindAuthority.UNBIND_AUTHORITY_SESSION,
  homeserver: UnbindAuthority.UNBIND_AUTHORITY_HOMESERVER,
  admin: UnbindAuthority.UNBIND_AUTHORITY_ADMIN,
} as const satisfies Record<Authority, UnbindAuthority>;
const keyOf = <K extends string, V>(table: Record<K, V>, value: V): K | undefined =>
  (Object.keys(table) as K[]).find((key) => table[key] === value);

export const associationCodec = eventCodec<AssociationEvent>({
  toPayload: (event) => {
    switch (event.type) {
      case 'AssociationBound': {
        const { data } = event;
        return {
          $case: 'associationBound',
          value: {
            addrKey: data.addrKey,
            medium: mediumToEvent(data.medium),
            bindingId: data.bindingId,
            userKey: data.userKey,
            association: data.association,
            clientLowercaseAddress: data.clientLowercaseAddress ?? undefined,
            ts: data.ts,
            notBefore: data.notBefore,
            notAfter: data.notAfter,
            source: SOURCES[data.source],
          },
        };
      }
      case 'AssociationUnbound': {
        const { addrKey, bindingId, authority } = event.data;
        return { $case: 'associationUnbound', value: { addrKey, bindingId, authority: AUTHORITIES[authority] } };
      }
    }
  },
  fromPayload: (payload, at) => {
    switch (payload.$case) {
      case 'associationBound': {
        const value = payload.value;
        const medium = mediumFromEvent(value.medium);
        const source = keyOf(SOURCES, value.source);
        if (medium === null || source === undefined || value.association === undefined) return null;
        return {
          type: 'AssociationBound',
          data: {
            addrKey: value.addrKey,
            medium,
            bindingId: value.bindingId,
            userKey: value.userKey,
            association: value.association,
            clientLowercaseAddress: value.clientLowercaseAddress ?? null,
            ts: Number(value.ts),
            notBefore: Number(value.notBefore),
            notAfter: Number(value.notAfter),
            source,
            at,
          },
        };
      }
      case 'associationUnbound': {
        const { addrKey, bindingId } = payload.value;
        const authority = keyOf(AUTHORITIES, payload.value.authority) ?? 'admin';
        return { type: 'AssociationUnbound', data: { addrKey, bindingId, authority, at } };
      }
      default:
        return null;
    }
  },
});

/** `tessera.assoc.<addrKey>`, loaded and changed by handleCommand. */
export const storedAssociations = storedDecider(associationDecider, associationCodec);
