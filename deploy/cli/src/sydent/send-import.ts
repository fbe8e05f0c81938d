import { type AssociationOutcome, type ItemOutcome, MAX_IMPORT_BATCH } from '@tessera/admin-imports';
import { AdminApiError, AdminApiUnreachable } from '../admin-endpoint.js';
import { EXAMPLES_KEPT, type Planned } from './plan-report.js';

/** What the services answered for one category. */
export type SendTally = {
  imported: number;
  present: number;
  refused: number;
  /** The first refusals, with the rows they came from. */
  refusals: { label: string; reason: string }[];
  /** Associations: how the directory's signature compared with the one given under its key id. */
  signatures: Record<Signature, number>;
  /** The first rows whose signature came back `changed`. */
  changedSignatures: string[];
};

type Signature = NonNullable<AssociationOutcome['ourSignature']>;
const SIGNATURES: readonly string[] = ['same', 'changed', 'added'] satisfies Signature[];

export const emptyTally = (): SendTally => ({
  imported: 0,
  present: 0,
  refused: 0,
  refusals: [],
  signatures: { same: 0, changed: 0, added: 0 },
  changedSignatures: [],
});

/** Posts one batch; answers one outcome per item, in order. */
export type PostBatch<T> = (items: T[]) => Promise<ItemOutcome[]>;

export type SendOptions = {
  /** Requests in flight at once. */
  concurrency: number;
  batchSize?: number;
  /** Called after each answered batch with the running tally. */
  onBatch?: (tally: SendTally) => void;
  /** Called with every refused item (the tally keeps only the first). */
  onRefused?: OnRefused;
  /** Waits before sending a batch again after a failure that may pass; default RETRY_DELAYS_MS. */
  retryDelaysMs?: readonly number[];
  /** Called before each retry, with what failed. */
  onRetry?: (err: Error, delayMs: number) => void;
};

/**
 * A batch is sent again after these waits when the service could not be reached or answered 503
 * (it restarted, a connection was closed under the request, the store or signing was briefly
 * away): every import request may be sent again as it was.
 */
export const RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 5_000, 10_000, 20_000];

const mayPass = (err: unknown): err is Error =>
  err instanceof AdminApiUnreachable || (err instanceof AdminApiError && err.status === 503);

async function postWithRetries<T>(post: PostBatch<T>, items: T[], options: SendOptions): Promise<ItemOutcome[]> {
  for (const delayMs of [...(options.retryDelaysMs ?? RETRY_DELAYS_MS), null]) {
    try {
      return await post(items);
    } catch (err) {
      if (delayMs === null || !mayPass(err)) throw err;
      options.onRetry?.(err, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
  throw new Error('unreachable');
}

type OnRefused = (label: string, reason: string) => void;

/**
 * Sends the planned items in batches of at most MAX_IMPORT_BATCH, several requests in flight, and
 * tallies the outcomes. A request that fails in a way that may pass is sent again (RETRY_DELAYS_MS);
 * any other failure, or one that lasts, stops the sending (after the requests in flight have
 * answered) and rethrows: every service answers `present` for what it already has, so running
 * the import again finishes the job.
 */
export async function sendInBatches<T>(
  planned: Iterable<Planned<T>>,
  post: PostBatch<T>,
  options: SendOptions,
): Promise<SendTally> {
  const batchSize = Math.min(options.batchSize ?? MAX_IMPORT_BATCH, MAX_IMPORT_BATCH);
  const tally = emptyTally();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const send = (batch: Planned<T>[]) => {
    const request = postWithRetries(
      post,
      batch.map(({ item }) => item),
      options,
    )
      .then((outcomes) => {
        if (!Array.isArray(outcomes) || outcomes.length !== batch.length)
          throw new Error(
            `the service answered ${Array.isArray(outcomes) ? outcomes.length : 'no'} outcomes for ${batch.length} items`,
          );
        for (const [index, outcome] of outcomes.entries())
          count(tally, outcome, (batch[index] as Planned<T>).label, options.onRefused);
        options.onBatch?.(tally);
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };
  let batch: Planned<T>[] = [];
  for (const entry of planned) {
    batch.push(entry);
    if (batch.length < batchSize) continue;
    send(batch);
    batch = [];
    while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
    if (failure !== undefined) break;
  }
  if (failure === undefined && batch.length > 0) send(batch);
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return tally;
}

export function count(
  tally: SendTally,
  { outcome, reason, ourSignature }: AssociationOutcome,
  label: string,
  onRefused?: OnRefused,
): void {
  if (ourSignature !== undefined && SIGNATURES.includes(ourSignature)) {
    tally.signatures[ourSignature]++;
    if (ourSignature === 'changed' && tally.changedSignatures.length < EXAMPLES_KEPT)
      tally.changedSignatures.push(label);
  }
  if (outcome === 'imported') tally.imported++;
  else if (outcome === 'present') tally.present++;
  else {
    const why = reason ?? '(no reason given)';
    tally.refused++;
    onRefused?.(label, why);
    if (tally.refusals.length < EXAMPLES_KEPT) tally.refusals.push({ label, reason: why });
  }
}
