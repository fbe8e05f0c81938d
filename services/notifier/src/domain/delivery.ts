// The delivery aggregate (`tessera.delivery.<id>`): one message to send for one TokenIssued, at
// least once. A notifier takes it on (DeliveryStarted) for a lease before sending, renews the
// lease while a slow send runs, and records the outcome. While the lease runs nobody else sends;
// once it has run out without an outcome (the notifier died), another notifier takes it over with
// the next attempt number and sends again. A second message therefore goes out only when a
// notifier died after the provider accepted the message and before the outcome was recorded.
import type { Decider } from '@tessera/event-store';

export type DeliveryChannel = 'email' | 'sms' | 'unspecified';

export type DeliveryEvent =
  | {
      type: 'DeliveryStarted';
      data: {
        deliveryId: string;
        source: string;
        channel: DeliveryChannel;
        attempt: number;
        leaseEndsAt: Date;
        at: Date;
      };
    }
  | { type: 'DeliveryLeaseRenewed'; data: { deliveryId: string; attempt: number; leaseEndsAt: Date; at: Date } }
  | { type: 'TokenSent'; data: { deliveryId: string; providerMessageId: string; at: Date } }
  | { type: 'TokenSendFailed'; data: { deliveryId: string; reason: string; refused: boolean; at: Date } };

export type DeliveryCommand =
  /** Take the delivery on for `leaseMs`, just before sending: a new one, or one whose lease has run out. */
  | { type: 'StartDelivery'; deliveryId: string; source: string; channel: DeliveryChannel; leaseMs: number; now: Date }
  /** Give the delivery up before sending anything (its data was erased, its session is unusable). */
  | { type: 'RefuseDelivery'; deliveryId: string; source: string; channel: DeliveryChannel; reason: string; now: Date }
  /** Still sending on `attempt`: hold the delivery `leaseMs` longer. */
  | { type: 'RenewLease'; deliveryId: string; attempt: number; leaseMs: number; now: Date }
  | { type: 'RecordSent'; deliveryId: string; providerMessageId: string; now: Date }
  | { type: 'RecordFailure'; deliveryId: string; reason: string; refused: boolean; now: Date };

export type Delivery =
  | { status: 'none' }
  | { status: 'started'; channel: DeliveryChannel; attempt: number; leaseEndsAt: Date }
  | { status: 'sent'; channel: DeliveryChannel }
  | { status: 'failed'; channel: DeliveryChannel; refused: boolean };

export const initial = (): Delivery => ({ status: 'none' });

/**
 * Who may work on a delivery now: anyone (`open`: never taken on, or its lease ran out without
 * an outcome), nobody until `endsAt` (`leased`), or nobody ever again (`finished`).
 */
export type Availability = { status: 'open' } | { status: 'leased'; endsAt: Date } | { status: 'finished' };

export function availability(state: Delivery, now: Date): Availability {
  switch (state.status) {
    case 'none':
      return { status: 'open' };
    case 'started':
      return state.leaseEndsAt.getTime() > now.getTime()
        ? { status: 'leased', endsAt: state.leaseEndsAt }
        : { status: 'open' };
    case 'sent':
    case 'failed':
      return { status: 'finished' };
  }
}

/** An outcome for a delivery that was never taken on: a bug in the caller, not a state to record. */
export class DeliveryNotStarted extends Error {
  override readonly name = 'DeliveryNotStarted';
  constructor(readonly deliveryId: string) {
    super(`delivery ${deliveryId} has no DeliveryStarted: its outcome cannot be recorded`);
  }
}

export function evolve(state: Delivery, event: DeliveryEvent): Delivery {
  switch (event.type) {
    case 'DeliveryStarted': {
      const { channel, attempt, leaseEndsAt } = event.data;
      return state.status === 'none' || state.status === 'started'
        ? { status: 'started', channel, attempt, leaseEndsAt }
        : state;
    }
    case 'DeliveryLeaseRenewed':
      return state.status === 'started' && state.attempt === event.data.attempt
        ? { ...state, leaseEndsAt: event.data.leaseEndsAt }
        : state;
    case 'TokenSent':
      return state.status === 'started' ? { status: 'sent', channel: state.channel } : state;
    case 'TokenSendFailed':
      return state.status === 'started'
        ? { status: 'failed', channel: state.channel, refused: event.data.refused }
        : state;
  }
}

export function decide(command: DeliveryCommand, state: Delivery): DeliveryEvent[] {
  const at = command.now;
  switch (command.type) {
    case 'StartDelivery': {
      // Leased by a live notifier, or finished: nothing, and no second message.
      if (availability(state, at).status !== 'open') return [];
      const { deliveryId, source, channel, leaseMs } = command;
      const attempt = state.status === 'started' ? state.attempt + 1 : 1;
      const leaseEndsAt = new Date(at.getTime() + leaseMs);
      return [{ type: 'DeliveryStarted', data: { deliveryId, source, channel, attempt, leaseEndsAt, at } }];
    }
    case 'RefuseDelivery': {
      if (availability(state, at).status !== 'open') return [];
      const { deliveryId, source, channel, reason } = command;
      const failed: DeliveryEvent = { type: 'TokenSendFailed', data: { deliveryId, reason, refused: true, at } };
      // Taken on by a notifier that vanished: only the outcome is missing.
      if (state.status === 'started') return [failed];
      // Both in one decision: no reader ever sees the delivery started without its outcome. The
      // lease ends at once: there is nothing to hold it for.
      const started: DeliveryEvent = {
        type: 'DeliveryStarted',
        data: { deliveryId, source, channel, attempt: 1, leaseEndsAt: at, at },
      };
      return [started, failed];
    }
    case 'RenewLease': {
      // Taken over, or finished: the lease is not this attempt's to renew any more.
      if (state.status !== 'started' || state.attempt !== command.attempt) return [];
      const { deliveryId, attempt, leaseMs } = command;
      const leaseEndsAt = new Date(at.getTime() + leaseMs);
      return [{ type: 'DeliveryLeaseRenewed', data: { deliveryId, attempt, leaseEndsAt, at } }];
    }
    case 'RecordSent':
    case 'RecordFailure': {
      if (state.status === 'none') throw new DeliveryNotStarted(command.deliveryId);
      // Recorded already: the first outcome stands. An attempt that was taken over still records
      // what it did: the message went out (or did not), whoever holds the lease now.
      if (state.status !== 'started') return [];
      const { deliveryId } = command;
      return command.type === 'RecordSent'
        ? [{ type: 'TokenSent', data: { deliveryId, providerMessageId: command.providerMessageId, at } }]
        : [{ type: 'TokenSendFailed', data: { deliveryId, reason: command.reason, refused: command.refused, at } }];
    }
  }
}

export const deliveryDecider: Decider<DeliveryCommand, DeliveryEvent, Delivery> = { decide, evolve, initial };
