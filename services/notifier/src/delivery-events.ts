import { newEvent } from '@tessera/event-store';
import { DeliveryChannel as ProtoChannel } from '@tessera/proto/tessera/events/v1/delivery';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import type { DeliveryChannel, DeliveryEvent } from './domain/delivery.js';

// The delivery aggregate's events on the wire (tessera.events.v1) and back.

const TO_PROTO: Record<DeliveryChannel, ProtoChannel> = {
  email: ProtoChannel.DELIVERY_CHANNEL_EMAIL,
  sms: ProtoChannel.DELIVERY_CHANNEL_SMS,
  unspecified: ProtoChannel.DELIVERY_CHANNEL_UNSPECIFIED,
};

function fromProto(channel: ProtoChannel): DeliveryChannel {
  switch (channel) {
    case ProtoChannel.DELIVERY_CHANNEL_EMAIL:
      return 'email';
    case ProtoChannel.DELIVERY_CHANNEL_SMS:
      return 'sms';
    default:
      return 'unspecified';
  }
}

export function toStoredEvent(event: DeliveryEvent): Event {
  switch (event.type) {
    case 'DeliveryStarted': {
      const { deliveryId, source, channel, attempt, leaseEndsAt, at } = event.data;
      return newEvent(
        { $case: 'deliveryStarted', value: { deliveryId, source, channel: TO_PROTO[channel], attempt, leaseEndsAt } },
        at,
      );
    }
    case 'DeliveryLeaseRenewed': {
      const { deliveryId, attempt, leaseEndsAt, at } = event.data;
      return newEvent({ $case: 'deliveryLeaseRenewed', value: { deliveryId, attempt, leaseEndsAt } }, at);
    }
    case 'TokenSent': {
      const { deliveryId, providerMessageId, at } = event.data;
      return newEvent({ $case: 'tokenSent', value: { deliveryId, providerMessageId } }, at);
    }
    case 'TokenSendFailed': {
      const { deliveryId, reason, refused, at } = event.data;
      return newEvent({ $case: 'tokenSendFailed', value: { deliveryId, reason, refused } }, at);
    }
  }
}

/** The delivery events of a stored history; events of other kinds are skipped. */
export function fromStoredEvents(events: readonly Event[]): DeliveryEvent[] {
  return events.flatMap((event): DeliveryEvent[] => {
    const at = event.occurredAt ?? new Date(0);
    switch (event.payload?.$case) {
      case 'deliveryStarted': {
        const { deliveryId, source, channel, attempt, leaseEndsAt } = event.payload.value;
        // Written before leases existed: the first attempt, and no lease that still holds it.
        const data = { deliveryId, source, channel: fromProto(channel), attempt: Math.max(attempt, 1) };
        return [{ type: 'DeliveryStarted', data: { ...data, leaseEndsAt: leaseEndsAt ?? at, at } }];
      }
      case 'deliveryLeaseRenewed': {
        const { deliveryId, attempt, leaseEndsAt } = event.payload.value;
        return [{ type: 'DeliveryLeaseRenewed', data: { deliveryId, attempt, leaseEndsAt: leaseEndsAt ?? at, at } }];
      }
      case 'tokenSent':
        return [{ type: 'TokenSent', data: { ...event.payload.value, at } }];
      case 'tokenSendFailed':
        return [{ type: 'TokenSendFailed', data: { ...event.payload.value, at } }];
      default:
        return [];
    }
  });
}
