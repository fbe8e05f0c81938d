import { TesseraError } from '@tessera/errors';
import type { EventStore, LoadedState } from '@tessera/event-store';
import { handleCommand, subjectOf } from '@tessera/event-store';
import { newLookupPepper } from '@tessera/lookup-hash';
import { randomBytes } from '@tessera/secure-random';
import type { Logger } from '@tessera/service-kit';
import type { PepperCommand, PepperState } from './domain/pepper.js';
import { storedPeppers } from './events/pepper-events.js';
import type { LivePepper, ReadModel } from './read-model.js';

/** `tessera.pepper.lookup`: the one pepper aggregate. */
export const PEPPER_SUBJECT = subjectOf('pepper', 'lookup');

export interface PeppersOptions {
  store: EventStore;
  readModel: ReadModel;
  now: () => number;
  /** TESSERA_PEPPER_ROTATE_INTERVAL_MS; 0: only on command. */
  rotateIntervalMs: number;
  /** TESSERA_PEPPER_GRACE_MS */
  graceMs: number;
  /** How often rotation and retirement are considered. Default: a minute, or less for short settings. */
  checkEveryMs?: number;
  log: Logger;
}

export interface Peppers {
  /** The pepper hash_details offers: the newest whose index is complete; throws 503 before there is one. */
  current(): LivePepper;
  /** The live pepper a lookup may use (the current one, or an older one within its grace); undefined: none. */
  accepted(pepper: string): LivePepper | undefined;
  /** Reads the live peppers again (the projector applied a batch). */
  refresh(): Promise<void>;
  /** A new pepper now; answers its id. Offered once the projector has indexed it. */
  rotate(): Promise<string>;
  /**
   * Makes `pepper` (another server's, imported) the newest, offered once the projector has indexed
   * it; null when it is the newest already (nothing appended), else the sequence to wait for.
   */
  adopt(pepper: string): Promise<number | null>;
  /** Rotation when due, and retirement of older peppers once the current one's grace is over. */
  tick(): Promise<void>;
  close(): void;
}

const newPepperId = () => randomBytes(12).toString('base64url');
const newPepper = (now: number) => ({ pepperId: newPepperId(), pepper: newLookupPepper(), now: new Date(now) });

/**
 * The v2 lookup peppers. The live ones (whose index is complete) are kept in memory, read again
 * when the projector applies a batch, so a lookup costs no query for them. A pepper exists from the
 * start (replicas racing to make the first end with one); a new one is made on schedule or on
 * command; once the newest has been offered for the grace period, the older ones are retired.
 */
export async function startPeppers(options: PeppersOptions): Promise<Peppers> {
  const { store, readModel, now, rotateIntervalMs, graceMs, log } = options;
  const checkEveryMs =
    options.checkEveryMs ?? Math.min(60_000, graceMs, rotateIntervalMs === 0 ? 60_000 : rotateIntervalMs);
  let live: LivePepper[] = [];
  // When this process first saw the current pepper offered: older ones are accepted for graceMs after.
  let offered: { pepperId: string; since: number } | null = null;

  const decide = (command: PepperCommand) =>
    handleCommand(store, PEPPER_SUBJECT, storedPeppers, async (_: LoadedState<PepperState>) => command);

  let refreshing: Promise<void> | null = null;
  let again = false;
  const readPeppers = async () => {
    live = await readModel.peppers();
    const current = live[0];
    if (current !== undefined && current.pepperId !== offered?.pepperId) {
      offered = { pepperId: current.pepperId, since: now() };
      log.info({ pepperId: current.pepperId }, 'lookup pepper offered');
    }
  };
  const refresh = (): Promise<void> => {
    if (refreshing !== null) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        await readPeppers();
      } while (again);
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  await decide({ type: 'EnsurePepper', ...newPepper(now()) });
  // Before the projector's migrations there is nothing to read yet: the next batch refreshes.
  await refresh().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cannot read the peppers yet'));

  const tick = async () => {
    if (rotateIntervalMs > 0) await decide({ type: 'RotateIfDue', intervalMs: rotateIntervalMs, ...newPepper(now()) });
    await refresh();
    if (offered !== null && now() - offered.since >= graceMs) {
      const { events } = await decide({ type: 'RetireOlder', currentPepperId: offered.pepperId, now: new Date(now()) });
      if (events.length > 0) log.info({ retired: events.length }, 'older lookup peppers retired');
    }
  };
  const timer = setInterval(() => {
    tick().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'pepper rotation check failed'));
  }, checkEveryMs);
  timer.unref();

  return {
    current() {
      const current = live[0];
      if (current === undefined)
        throw new TesseraError('M_UNKNOWN', 'the lookup index is not ready yet; try again shortly', {
          httpStatus: 503,
        });
      return current;
    },
    accepted(pepper) {
      const found = live.find((candidate) => candidate.pepper === pepper);
      if (found === undefined || found === live[0]) return found;
      return offered !== null && now() - offered.since < graceMs ? found : undefined;
    },
    refresh,
    async rotate() {
      const command = newPepper(now());
      await decide({ type: 'Rotate', ...command });
      log.info({ pepperId: command.pepperId }, 'lookup pepper rotation requested');
      return command.pepperId;
    },
    async adopt(pepper) {
      const { events, seq } = await decide({ type: 'Adopt', ...newPepper(now()), pepper });
      if (events.length === 0) return null;
      log.info({ pepperId: events[0]?.data.pepperId }, 'imported lookup pepper adopted');
      return seq;
    },
    tick,
    close: () => clearInterval(timer),
  };
}
