import { DiscardPolicy, type JetStreamManager, nanos, RetentionPolicy, StorageType, type StreamConfig } from 'nats';
import { isStreamNotFound } from './errors.js';
import { type StreamName, subjectsOfStream } from './subjects.js';

const DAY_MS = 86_400_000;
// A publish re-sent with the same Nats-Msg-Id within this window is stored once. Two minutes
// covers every retry loop of ours; a longer window costs server memory for each id it remembers.
const DUPLICATE_WINDOW_MS = 120_000;

export type StreamOptions = { replicas?: number; shortLivedMaxAgeDays?: number };
export type EnsuredStream = { name: StreamName; action: 'created' | 'updated' | 'unchanged' };

/** The configuration Tessera needs for each stream. */
export function desiredStreams({ replicas = 1, shortLivedMaxAgeDays = 7 }: StreamOptions = {}): StreamConfig[] {
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError('replicas must be a positive integer');
  if (!(shortLivedMaxAgeDays > 0)) throw new RangeError('shortLivedMaxAgeDays must be positive');
  const common = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    allow_direct: true, // loads read an aggregate by direct get, served by any replica
  };
  return [
    {
      ...common,
      name: 'TESSERA_SHORT',
      description: 'Short-lived facts: validation sessions and their deliveries',
      subjects: subjectsOfStream('TESSERA_SHORT'),
      max_age: nanos(shortLivedMaxAgeDays * DAY_MS),
    },
    {
      ...common,
      name: 'TESSERA_EVENTS',
      description: 'Lasting facts: associations, invites, onbind, accounts, terms, keys',
      subjects: subjectsOfStream('TESSERA_EVENTS'),
      max_age: 0,
      // The source of truth keeps every fact: no message may be deleted or purged through the API,
      // whoever asks (erasing personal data is done by erasing its data key instead). Once set,
      // the server refuses to take either back.
      deny_delete: true,
      deny_purge: true,
    },
  ] as StreamConfig[];
}

/**
 * Creates both streams, or updates them where their configuration differs; safe to run again.
 * Provisioning runs it with an admin identity; services only check that the streams exist.
 */
export async function ensureStreams(jsm: JetStreamManager, options: StreamOptions = {}): Promise<EnsuredStream[]> {
  const ensured: EnsuredStream[] = [];
  for (const desired of desiredStreams(options)) {
    const name = desired.name as StreamName;
    const current = await streamConfig(jsm, name);
    if (current === null) {
      await jsm.streams.add(desired);
      ensured.push({ name, action: 'created' });
    } else if (differs(current, desired)) {
      if (current.storage !== desired.storage)
        throw new Error(
          `stream ${name} uses ${current.storage} storage, which cannot be changed to ${desired.storage}`,
        );
      await jsm.streams.update(name, desired);
      ensured.push({ name, action: 'updated' });
    } else {
      ensured.push({ name, action: 'unchanged' });
    }
  }
  return ensured;
}

/** A stream's (or a bucket's stream's) configuration, or null when it does not exist. */
export async function streamConfig(jsm: JetStreamManager, stream: string): Promise<StreamConfig | null> {
  try {
    return (await jsm.streams.info(stream)).config;
  } catch (err) {
    if (isStreamNotFound(err)) return null;
    throw err;
  }
}

// Only the fields we set are compared: the server fills in defaults for the rest.
function differs(current: StreamConfig, desired: StreamConfig): boolean {
  return (
    !sameSet(current.subjects ?? [], desired.subjects) ||
    current.retention !== desired.retention ||
    current.storage !== desired.storage ||
    current.discard !== desired.discard ||
    current.num_replicas !== desired.num_replicas ||
    current.duplicate_window !== desired.duplicate_window ||
    current.allow_direct !== desired.allow_direct ||
    current.max_age !== desired.max_age ||
    (current.deny_delete ?? false) !== (desired.deny_delete ?? false) ||
    (current.deny_purge ?? false) !== (desired.deny_purge ?? false) ||
    (current.description ?? '') !== (desired.description ?? '')
  );
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}
