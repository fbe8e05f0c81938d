import { eventCodec, storedDecider } from '@tessera/event-store';
import { type OnbindDeliveryEvent, type OnbindMethod, onbindDeliveryDecider } from '../domain/onbind-delivery.js';

// The onbind_delivery aggregate's events on the wire (tessera.events.v1, invite.proto) and back.

export const onbindDeliveryCodec = eventCodec<OnbindDeliveryEvent>({
  toPayload(event) {
    switch (event.type) {
      case 'OnbindAttemptStarted': {
        const { onbindId, attempt, leaseEndsAt } = event.data;
        return { $case: 'onbindAttemptStarted', value: { onbindId, attempt, leaseEndsAt } };
      }
      case 'OnbindLeaseRenewed': {
        const { onbindId, attempt, leaseEndsAt } = event.data;
        return { $case: 'onbindLeaseRenewed', value: { onbindId, attempt, leaseEndsAt } };
      }
      case 'OnbindAttemptFailed': {
        const { onbindId, attempt, reason, httpStatus, retryAt } = event.data;
        return { $case: 'onbindAttemptFailed', value: { onbindId, attempt, reason, httpStatus, retryAt } };
      }
      case 'OnbindDelivered': {
        const { onbindId, attempt, method } = event.data;
        return { $case: 'onbindDelivered', value: { onbindId, attempt, method } };
      }
      case 'OnbindAbandoned': {
        const { onbindId, attempts, reason } = event.data;
        return { $case: 'onbindAbandoned', value: { onbindId, attempts, reason } };
      }
    }
  },
  fromPayload(payload, at) {
    switch (payload.$case) {
      case 'onbindAttemptStarted': {
        const { onbindId, attempt, leaseEndsAt } = payload.value;
        // Every writer sets the lease's end; without one, no lease holds the call.
        return { type: 'OnbindAttemptStarted', data: { onbindId, attempt, leaseEndsAt: leaseEndsAt ?? at, at } };
      }
      case 'onbindLeaseRenewed': {
        const { onbindId, attempt, leaseEndsAt } = payload.value;
        return { type: 'OnbindLeaseRenewed', data: { onbindId, attempt, leaseEndsAt: leaseEndsAt ?? at, at } };
      }
      case 'onbindAttemptFailed': {
        const { onbindId, attempt, reason, httpStatus, retryAt } = payload.value;
        return {
          type: 'OnbindAttemptFailed',
          data: { onbindId, attempt, reason, httpStatus, retryAt: retryAt ?? at, at },
        };
      }
      case 'onbindDelivered': {
        const { onbindId, attempt, method } = payload.value;
        return { type: 'OnbindDelivered', data: { onbindId, attempt, method: asMethod(method), at } };
      }
      case 'onbindAbandoned':
        return { type: 'OnbindAbandoned', data: { ...payload.value, at } };
      default:
        return null;
    }
  },
});

const asMethod = (method: string): OnbindMethod => (method === 'PUT' ? 'PUT' : 'POST');

/** `tessera.onbind_delivery.<id>`, loaded and changed by handleCommand. */
export const storedOnbindDeliveries = storedDecider(onbindDeliveryDecider, onbindDeliveryCodec);
