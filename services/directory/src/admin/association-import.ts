import type { AssociationOutcome, ImportBatchAnswer } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import type { Binder, ImportedBinding } from '../binder.js';
import { type CheckedAssociation, checkAssociationItem, withOurSignature } from './association-items.js';

/** Stores (each a load, a data-key create and an append) in flight at once for one request. */
const STORE_CONCURRENCY = 256;

/**
 * `POST import/associations`: one outcome per item, in order. The items that pass the checks are
 * signed in one SignJsonBatch call (a batch is at most MAX_IMPORT_BATCH, signing's batch too),
 * then stored with up to STORE_CONCURRENCY in flight, each decided on its aggregate before
 * anything is written (Binder.storeImported); the answer comes once the projector has applied
 * the last append (waiting as long as it keeps applying). A bad item is refused and the others go
 * on; signing or the store failing fails the request, which may be sent again as it was.
 */
export async function importAssociationBatch(
  items: unknown[],
  binder: Binder,
  log: Logger,
): Promise<ImportBatchAnswer<AssociationOutcome>> {
  const started = Date.now();
  const outcomes: AssociationOutcome[] = new Array(items.length);
  const accepted: { index: number; checked: CheckedAssociation }[] = [];
  for (const [index, item] of items.entries()) {
    try {
      accepted.push({ index, checked: checkAssociationItem(item) });
    } catch (err) {
      if (!(err instanceof TesseraError)) throw err;
      outcomes[index] = { outcome: 'refused', reason: err.message };
    }
  }

  const signed =
    accepted.length === 0 ? [] : await binder.signAssociations(accepted.map(({ checked }) => checked.fields));
  const toStore = accepted.map(({ index, checked }, i) => {
    const { associationJson, ourSignature } = withOurSignature(checked, signed[i] as string);
    const { fields } = checked;
    const binding: ImportedBinding = {
      importId: checked.importId,
      medium: fields.medium,
      address: checked.address,
      mxid: fields.mxid,
      clientLowercaseAddress: checked.clientLowercaseAddress,
      associationJson,
      ts: fields.ts,
      notBefore: fields.not_before,
      notAfter: fields.not_after,
    };
    return { index, binding, ourSignature };
  });

  let lastSeq = 0;
  await inParallel(toStore, STORE_CONCURRENCY, async ({ index, binding, ourSignature }) => {
    const stored = await binder.storeImported(binding);
    if (stored.outcome === 'imported') {
      lastSeq = Math.max(lastSeq, stored.seq);
      outcomes[index] = { outcome: 'imported', ourSignature };
    } else outcomes[index] = stored;
  });
  if (lastSeq > 0) await binder.visibleWhileApplying(lastSeq);
  log.info(
    { items: items.length, ...countsOf(outcomes), lastSeq, ms: Date.now() - started },
    'association import batch done',
  );
  return { outcomes };
}

const countsOf = (outcomes: AssociationOutcome[]) => {
  const counts = { imported: 0, present: 0, refused: 0 };
  for (const { outcome } of outcomes) counts[outcome]++;
  return counts;
};

/**
 * Runs `work` on every item, `concurrency` at a time. The first failure stops new work; it is
 * thrown once the work already started has ended (nothing is left running behind the answer).
 */
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++] as T;
      await work(item).catch((err: unknown) => {
        failure ??= { err };
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== null) throw (failure as { err: unknown }).err;
}
