import { eventCodec, storedDecider } from '@tessera/event-store';
import { type OnbindEvent, onbindDecider } from '../domain/onbind.js';

// The onbind aggregate's event on the wire (tessera.events.v1) and back: the call itself is sealed.

export const onbindCodec = eventCodec<OnbindEvent>({
  toPayload: (event) => {
    const { at: _at, ...value } = event.data;
    return { $case: 'onbindRequested', value };
  },
  fromPayload: (payload, at) => {
    if (payload.$case !== 'onbindRequested') return null;
    const { call, giveUpAt, ...rest } = payload.value;
    if (call === undefined || giveUpAt === undefined) return null;
    return { type: 'OnbindRequested', data: { ...rest, call, giveUpAt, at } };
  },
});

/** `tessera.onbind.<onbindId>`, loaded and changed by handleCommand. */
export const storedOnbinds = storedDecider(onbindDecider, onbindCodec);
