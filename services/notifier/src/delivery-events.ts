import { eventCodec, storedDecider } from '@tessera/event-store';
import { DeliveryChannel as ProtoChannel } from '@tessera/proto/tessera/events/v1/delivery';
import { type DeliveryChannel, type DeliveryEvent, deliveryDecider } from './domain/delivery.js';

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

export const deliveryCodec = eventCodec<DeliveryEvent>({
  toPayload(event) {
    switch (event.type) {
      case 'DeliveryStarted': {
        const { deliveryId, source, channel, attempt, leaseEndsAt } = event.data;
        return {
          $case: 'deliveryStarted',
          value: { deliveryId, source, channel: TO_PROTO[channel], attempt, leaseEndsAt },
        };
      }
      case 'DeliveryLeaseRenewed': {
        const { deliveryId, attempt, leaseEndsAt } = event.data;
        return { $case: 'deliveryLeaseRenewed', value: { deliveryId, attempt, leaseEndsAt } };
      }
      case 'TokenSent': {
        const { deliveryId, providerMessageId } = event.data;
        return { $case: 'tokenSent', value: { deliveryId, providerMessageId } };
      }
      case 'TokenSendFailed': {
        const { deliveryId, reason, refused } = event.data;
        return { $case: 'tokenSendFailed', value: { deliveryId, reason, refused } };
      }
    }
  },
  fromPayload(payload, at) {
    switch (payload.$case) {
      case 'deliveryStarted': {
        const { deliveryId, source, channel, attempt, leaseEndsAt } = payload.value;
        // Written before leases existed: the first attempt, and no lease that still holds it.
        const data = { deliveryId, source, channel: fromProto(channel), attempt: Math.max(attempt, 1) };
        return { type: 'DeliveryStarted', data: { ...data, leaseEndsAt: leaseEndsAt ?? at, at } };
      }
      case 'deliveryLeaseRenewed': {
        const { deliveryId, attempt, leaseEndsAt } = payload.value;
        return { type: 'DeliveryLeaseRenewed', data: { deliveryId, attempt, leaseEndsAt: leaseEndsAt ?? at, at } };
      }
      case 'tokenSent':
        return { type: 'TokenSent', data: { ...payload.value, at } };
      case 'tokenSendFailed':
        return { type: 'TokenSendFailed', data: { ...payload.value, at } };
      default:
        return null;
    }
  },
});

/** `tessera.delivery.<id>`, loaded and changed by handleCommand. */
export const storedDeliveries = storedDecider(deliveryDecider, deliveryCodec);
