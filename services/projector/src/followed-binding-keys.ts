import {
  bucketStreamOf,
  DATA_KEY_BUCKET,
  type DataKey,
  type DataKeySource,
  decodeDataKey,
  kvKeyOf,
  type Logger,
} from '@tessera/event-store';
import { KEY_FOLLOWERS } from '@tessera/nats-access';
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg, type NatsConnection, nanos } from 'nats';

const STREAM = bucketStreamOf(DATA_KEY_BUCKET);
const CONSUMER = KEY_FOLLOWERS.projectorAssoc;
const FILTER = `$KV.${DATA_KEY_BUCKET}.assoc.>`;
const SUBJECT_PREFIX = `$KV.${DATA_KEY_BUCKET}.`;
const CONSUMER_NOT_FOUND = 10014; // JetStream API err_code
// Most keys one pull asks for; a pull also ends after this long without them (a quiet bucket).
const PULL_MAX = 2_000;
const PULL_EXPIRES_MS = 2_000;
const RETRY_DELAY_MS = 1_000;

export type FollowedBindingKeysOptions = {
  /**
   * Most keys held at once (about 300 bytes each): past it, following pauses until the projection
   * has taken some. Default 100,000.
   */
  maxHeld?: number;
  /**
   * How long before its AssociationBound a binding's key may have been created. Following starts
   * this long before the first event projected, and a held key this much older than the events
   * projected is let go (never asked for: its binding was projected by a fetch, or never appended).
   * Default 60 s.
   */
  marginMs?: number;
  log: Logger;
};

/** How the keys were had, for the benchmark and the tests. */
export type FollowedKeysStats = { fromMemory: number; fetched: number; mostHeld: number; held: number };

/**
 * The `assoc` data keys without a request each. The directory creates a binding's key before it
 * appends the AssociationBound, so reading the bucket's stream (`$KV.tessera_data_keys.assoc.>`,
 * with the projector's own consumer) from a little before the projection's position has the keys
 * in hand before their events come: a rebuild reads its keys in one stream read instead of a
 * million gets. A key is held until its binding asks for it once (then it is let go), or until it
 * is erased (its delete or purge marker removes it once read), or until it is `marginMs` older
 * than the events projected. A key erased after it was read and before its marker is (following
 * lags or is paused) still opens its binding, as a direct get made just before the erase would:
 * the directory appends the ending event before it erases, so the row goes a batch later. A key not held (not read yet, erased,
 * let go) is fetched from `fallback`, as without this.
 *
 * Memory is bounded: past `maxHeld` keys, following pauses until some are taken.
 */
export class FollowedBindingKeys implements DataKeySource {
  readonly #nc: NatsConnection;
  readonly #fallback: DataKeySource;
  readonly #log: Logger;
  readonly #maxHeld: number;
  readonly #marginMs: number;
  // By KV key, in the order read: (about) the order they were created, oldest first.
  readonly #held = new Map<string, { key: DataKey; atMs: number }>();
  readonly #stats = { fromMemory: 0, fetched: 0, mostHeld: 0 };
  // Following starts from this time (ms); undefined until the first batch.
  #fromMs: number | undefined;
  #generation = 0;
  #following: Promise<void> = Promise.resolve();
  #pull: ConsumerMessages | undefined;
  #room: (() => void) | undefined;
  #stopped = false;

  constructor(
    nc: NatsConnection,
    fallback: DataKeySource,
    { maxHeld = 100_000, marginMs = 60_000, log }: FollowedBindingKeysOptions,
  ) {
    if (!Number.isInteger(maxHeld) || maxHeld < 1) throw new RangeError('maxHeld must be a positive integer');
    this.#nc = nc;
    this.#fallback = fallback;
    this.#log = log;
    this.#maxHeld = maxHeld;
    this.#marginMs = marginMs;
  }

  /**
   * The projection is about to project events stored from `eventMs` on: follows the keys from
   * `marginMs` before, unless it does already (again from there when the projection went back, a rebuild).
   */
  followFrom(eventMs: number): void {
    if (this.#stopped || (this.#fromMs !== undefined && eventMs >= this.#fromMs)) return;
    const fromMs = eventMs - this.#marginMs;
    this.#fromMs = fromMs;
    const generation = ++this.#generation;
    this.#pull?.stop();
    this.#wakeRoom();
    // One follower at a time: the one before lets go of the consumer first.
    this.#following = this.#following.then(() => this.#follow(generation, fromMs));
  }

  /** The events projected were stored up to `eventMs`: keys older by more than the margin will not be asked for. */
  projectedUpTo(eventMs: number): void {
    const before = eventMs - this.#marginMs;
    for (const [kvKey, held] of this.#held) {
      if (held.atMs >= before) break;
      this.#held.delete(kvKey);
    }
    this.#wakeRoom();
  }

  async get(aggregate: string): Promise<DataKey | 'erased' | null> {
    const kvKey = kvKeyOf(aggregate);
    const held = this.#held.get(kvKey);
    if (held !== undefined) {
      this.#held.delete(kvKey); // one binding, one AssociationBound: not asked for again
      this.#wakeRoom();
      this.#stats.fromMemory++;
      return held.key;
    }
    this.#stats.fetched++;
    return this.#fallback.get(aggregate);
  }

  create(aggregate: string, key: DataKey): Promise<DataKey> {
    return this.#fallback.create(aggregate, key);
  }

  erase(aggregate: string): Promise<void> {
    return this.#fallback.erase(aggregate);
  }

  /** Whether the key of `aggregate` is held (for tests). */
  holds(aggregate: string): boolean {
    return this.#held.has(kvKeyOf(aggregate));
  }

  stats(): FollowedKeysStats {
    return { ...this.#stats, held: this.#held.size };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    this.#pull?.stop();
    this.#wakeRoom();
    await this.#following;
    this.#held.clear();
  }

  #wakeRoom(): void {
    const wake = this.#room;
    this.#room = undefined;
    wake?.();
  }

  async #untilRoom(generation: number): Promise<void> {
    while (this.#held.size >= this.#maxHeld && generation === this.#generation)
      await new Promise<void>((resolve) => {
        this.#room = resolve;
      });
  }

  /** Reads the keys from `fromMs` until stopped or superseded, making the consumer again after a failure. */
  async #follow(generation: number, fromMs: number): Promise<void> {
    this.#held.clear();
    const read: { last?: number } = {}; // the stream sequence of the last message read
    const current = () => generation === this.#generation;
    while (current()) {
      try {
        await this.#readFrom(generation, read, fromMs);
      } catch (err) {
        if (!current() || this.#nc.isClosed()) break;
        this.#log.warn({ err: (err as Error).message }, 'following binding keys failed; fetching keys meanwhile');
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS).unref());
      }
    }
    await this.#deleteConsumer();
  }

  /**
   * Makes the consumer start after `read.last` (at `fromMs` before anything was read) and reads
   * until superseded, or until a message is missing (no acks: it is made again after the last one read).
   */
  async #readFrom(generation: number, read: { last?: number }, fromMs: number): Promise<void> {
    const jsm = await this.#nc.jetstreamManager({ checkAPI: false });
    await this.#deleteConsumer();
    await jsm.consumers.add(STREAM, {
      name: CONSUMER,
      filter_subject: FILTER,
      ack_policy: AckPolicy.None,
      inactive_threshold: nanos(5 * 60_000), // gone by itself if this process dies
      ...(read.last === undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Math.max(0, fromMs)).toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: read.last + 1 }),
    });
    const consumer = await this.#nc.jetstream().consumers.get(STREAM, CONSUMER);
    let delivered = 0;
    for (;;) {
      await this.#untilRoom(generation);
      if (generation !== this.#generation) return;
      const room = Math.min(this.#maxHeld - this.#held.size, PULL_MAX);
      const pull = await consumer.fetch({ max_messages: room, expires: PULL_EXPIRES_MS });
      this.#pull = pull;
      if (generation !== this.#generation) pull.stop(); // stopped or superseded while it was being asked for
      for await (const msg of pull) {
        if (msg.info.deliverySequence !== delivered + 1) return; // one went missing: read again after the last
        delivered++;
        read.last = msg.seq;
        this.#take(msg);
      }
    }
  }

  #take(msg: JsMsg): void {
    const kvKey = msg.subject.slice(SUBJECT_PREFIX.length);
    const operation = msg.headers?.get('KV-Operation');
    if (operation === 'DEL' || operation === 'PURGE') {
      this.#held.delete(kvKey); // erased: it must not open anything
      return;
    }
    try {
      this.#held.set(kvKey, { key: decodeDataKey(msg.data), atMs: msg.info.timestampNanos / 1e6 });
    } catch (err) {
      // Fetched like any key not held, and refused there the same way.
      this.#log.error({ seq: msg.seq, err: (err as Error).message }, 'unreadable data key passed over');
      return;
    }
    this.#stats.mostHeld = Math.max(this.#stats.mostHeld, this.#held.size);
  }

  async #deleteConsumer(): Promise<void> {
    if (this.#nc.isClosed()) return;
    try {
      await (await this.#nc.jetstreamManager({ checkAPI: false })).consumers.delete(STREAM, CONSUMER);
    } catch (err) {
      if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === CONSUMER_NOT_FOUND) return;
      this.#log.warn({ err: (err as Error).message }, 'binding key follower not deleted; it goes by itself when idle');
    }
  }
}
