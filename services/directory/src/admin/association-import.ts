import type { AssociationOutcome, ImportBatchAnswer } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import type { Binder, ImportedBinding } from '../binder.js';
import { type CheckedAssociation, checkAssociationItem, withOurSignature } from './association-items.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';

/**
 * Stores (each a load, a data-key create and an append) in flight at once, over every import
 * request together: the CLI sends several batches at a time, and thousands of NATS requests at
 * once starve the process (its health checks and NATS timeouts) without storing any faster.
 */
export const STORE_CONCURRENCY = 256;

/**
 * `POST import/associations`: one outcome per item, in order. The items that pass the checks are
 * signed in one SignJsonBatch call (a batch is at most MAX_IMPORT_BATCH, signing's batch too),
 * then stored as `limit` lets them (STORE_CONCURRENCY for all requests together), each decided
 * on its aggregate before anything is written (Binder.storeImported); the answer comes once the
 * projector has applied the last append (waiting as long as it keeps applying). A bad item is refused and the others go
 * on; signing or the store failing fails the request, which may be sent again as it was.
 */
export async function importAssociationBatch(
  items: unknown[],
  { binder, limit, log }: { binder: Binder; limit: ConcurrencyLimit; log: Logger },
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
  let failed = false;
  const settled = await Promise.allSettled(
    toStore.map(({ index, binding, ourSignature }) =>
      limit(async () => {
        if (failed) return; // the request fails anyway: nothing more is started for it
        const stored = await binder.storeImported(binding).catch((err: unknown) => {
          failed = true;
          throw err;
        });
        if (stored.outcome === 'imported') {
          lastSeq = Math.max(lastSeq, stored.seq);
          outcomes[index] = { outcome: 'imported', ourSignature };
        } else outcomes[index] = stored;
      }),
    ),
  );
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
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
