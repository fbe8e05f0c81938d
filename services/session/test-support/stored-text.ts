// What the privacy tests search: every message of both event streams as text; not used by the service.
import type { NatsConnection } from 'nats';

/** Each stored message's data (as latin1 and as UTF-8: a non-ASCII address would not show in one reading), headers and subject. */
export async function storedText(nc: NatsConnection): Promise<string[]> {
  const jsm = await nc.jetstreamManager();
  const stored: string[] = [];
  for (const stream of ['TESSERA_SHORT', 'TESSERA_EVENTS']) {
    const { state } = await jsm.streams.info(stream);
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      const data = Buffer.from(message.data);
      stored.push(data.toString('latin1'), data.toString('utf8'), message.header.toString(), message.subject);
    }
  }
  return stored;
}
