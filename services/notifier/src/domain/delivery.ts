// The delivery aggregate (`tessera.delivery.<id>`): one message to send for one TokenIssued. It
// is taken on (DeliveryStarted) before anything is sent, so that a redelivered event finds it
// taken and sends nothing: at most one message per delivery, whatever NATS redelivers.

export type DeliveryChannel = 'email' | 'sms' | 'unspecified';

export type DeliveryEvent =
  | { type: 'DeliveryStarted'; data: { deliveryId: string; source: string; channel: DeliveryChannel; at: Date } }
  | { type: 'TokenSent'; data: { deliveryId: string; providerMessageId: string; at: Date } }
  | { type: 'TokenSendFailed'; data: { deliveryId: string; reason: string; refused: boolean; at: Date } };

export type DeliveryCommand =
  /** Take the delivery on, just before sending. */
  | { type: 'StartDelivery'; deliveryId: string; source: string; channel: DeliveryChannel; now: Date }
  /** Give the delivery up before sending anything (its data was erased, its session is unusable). */
  | { type: 'RefuseDelivery'; deliveryId: string; source: string; channel: DeliveryChannel; reason: string; now: Date }
  | { type: 'RecordSent'; deliveryId: string; providerMessageId: string; now: Date }
  | { type: 'RecordFailure'; deliveryId: string; reason: string; refused: boolean; now: Date };

export type Delivery =
  | { status: 'none' }
  | { status: 'started'; channel: DeliveryChannel }
  | { status: 'sent'; channel: DeliveryChannel }
  | { status: 'failed'; channel: DeliveryChannel; refused: boolean };

export const initialState = (): Delivery => ({ status: 'none' });

/** An outcome for a delivery that was never taken on: a bug in the caller, not a state to record. */
export class DeliveryNotStarted extends Error {
  override readonly name = 'DeliveryNotStarted';
  constructor(readonly deliveryId: string) {
    super(`delivery ${deliveryId} has no DeliveryStarted: its outcome cannot be recorded`);
  }
}

export function evolve(state: Delivery, event: DeliveryEvent): Delivery {
  switch (event.type) {
    case 'DeliveryStarted':
      return state.status === 'none' ? { status: 'started', channel: event.data.channel } : state;
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
      const { deliveryId, source, channel } = command;
      // Taken on already (by an earlier delivery of the same event): nothing, and no second message.
      return state.status === 'none' ? [{ type: 'DeliveryStarted', data: { deliveryId, source, channel, at } }] : [];
    }
    case 'RefuseDelivery': {
      const { deliveryId, source, channel, reason } = command;
      if (state.status !== 'none') return [];
      // Both in one decision: no reader ever sees the delivery started without its outcome.
      return [
        { type: 'DeliveryStarted', data: { deliveryId, source, channel, at } },
        { type: 'TokenSendFailed', data: { deliveryId, reason, refused: true, at } },
      ];
    }
    case 'RecordSent':
    case 'RecordFailure': {
      if (state.status === 'none') throw new DeliveryNotStarted(command.deliveryId);
      if (state.status !== 'started') return []; // recorded already: the first outcome stands
      const { deliveryId } = command;
      return command.type === 'RecordSent'
        ? [{ type: 'TokenSent', data: { deliveryId, providerMessageId: command.providerMessageId, at } }]
        : [{ type: 'TokenSendFailed', data: { deliveryId, reason: command.reason, refused: command.refused, at } }];
    }
  }
}
