/** What one NATS server's /varz says about how JetStream writes reach the disk. */
export type SyncPolicy = {
  monitorUrl: string;
  /** The server's version, e.g. 2.10.27. */
  version: string;
  /** False when the server runs without JetStream. */
  jetstream: boolean;
  /** `jetstream { sync_interval: always }`: every write is fsynced before it is acknowledged. */
  syncAlways: boolean;
  /** The interval of the lazy fsync otherwise (2 minutes by default); null when /varz does not say. */
  syncIntervalMs: number | null;
};

type Varz = { version?: unknown; jetstream?: { config?: { sync_always?: unknown; sync_interval?: unknown } } };

/**
 * Reads one server's monitoring endpoint (`http://host:8222`). Throws, naming the URL, when it
 * does not answer 200 with JSON within `timeoutMs`: an unverifiable server is not assumed safe.
 */
export async function readSyncPolicy(monitorUrl: string, timeoutMs = 5_000): Promise<SyncPolicy> {
  const url = `${monitorUrl.replace(/\/+$/, '')}/varz`;
  let varz: Varz;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    varz = (await response.json()) as Varz;
  } catch (err) {
    throw new Error(`cannot read ${url}: ${(err as Error).message}`);
  }
  const config = varz.jetstream?.config;
  const interval = config?.sync_interval;
  return {
    monitorUrl,
    version: typeof varz.version === 'string' ? varz.version : 'unknown',
    jetstream: config !== undefined,
    // 2.10 reports `sync_always: true` only when set (and a 2-minute interval beside it either way).
    syncAlways: config?.sync_always === true,
    syncIntervalMs: typeof interval === 'number' ? interval / 1_000_000 : null,
  };
}

/** Why a server would lose acknowledged writes on an OS crash; null when it fsyncs every write. */
export function unsafeSyncReason(policy: SyncPolicy): string | null {
  if (!policy.jetstream) return `${policy.monitorUrl} (nats-server ${policy.version}) runs without JetStream`;
  if (policy.syncAlways) return null;
  const every = policy.syncIntervalMs === null ? 'on a timer' : `every ${policy.syncIntervalMs / 1000} s`;
  return `${policy.monitorUrl} (nats-server ${policy.version}) fsyncs JetStream ${every}, not on every write (sync_interval is not "always")`;
}
