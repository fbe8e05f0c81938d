import type { AssociationOutcome, ImportBatchAnswer, SignatureCheck } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import type { Binder, ImportedOutcome, SignedImport } from '../binder.js';
import { type CheckedAssociation, checkAssociationItem, withOurSignature } from './association-items.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';

/**
 * Stores (each a load, a data-key create and an append) in flight at once, over every import
 * request together: the CLI sends several batches at a time, and thousands of NATS requests at
 * once starve the process (its health checks and NATS timeouts) without storing any faster.
 */
export const STORE_CONCURRENCY = 256;

/**
 * Associations per SignJsonBatch call: signing serves the calls one at a time, and with several
 * import requests in flight a call of a whole batch could wait past the gRPC deadline behind
 * the others.
 */
const SIGN_CHUNK = 250;

/** Signing's answers, one per association asked, in order; anything else is signing's fault (503). */
async function signAll(binder: Binder, fields: CheckedAssociation['fields'][]): Promise<string[]> {
  const signed = await binder.signAssociations(fields);
  if (signed.length !== fields.length)
    throw new TesseraError('M_UNKNOWN', `signing answered ${signed.length} of ${fields.length} associations`, {
      httpStatus: 503,
    });
  return signed;
}

/**
 * `POST import/check-signature`: the association signed as an import would sign it, compared with
 * the signature given, nothing stored (SignatureCheck). A bad association is 400 M_INVALID_PARAM.
 */
export async function checkImportSignature(body: Record<string, unknown>, binder: Binder): Promise<SignatureCheck> {
  const checked = checkAssociationItem({ importId: 'check-signature', association: body.association });
  const [signed] = await signAll(binder, [checked.fields]);
  const { keyId, ourSignature } = withOurSignature(checked, signed as string);
  return { keyId, ourSignature };
}

/**
 * `POST import/associations`: one outcome per item, in order. Each item that passes the checks is
 * looked up on its aggregate first (Binder.checkImport: already imported, or superseded, it is
 * answered without anything signed or written); the others are signed SIGN_CHUNK at a time, then
 * stored. Loads and stores go as `limit` lets them (STORE_CONCURRENCY for all requests together).
 * The answer comes once the projector has applied the last append (waiting as long as it keeps
 * applying). A bad item is refused and the others go on; signing or the store failing fails the
 * request, which may be sent again as it was.
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

  const absent: {
    index: number;
    checked: CheckedAssociation;
    store: (signed: SignedImport) => Promise<ImportedOutcome>;
  }[] = [];
  await allLimited(limit, accepted, async ({ index, checked }) => {
    const { importId, address, fields } = checked;
    const check = await binder.checkImport({ importId, medium: fields.medium, address, ts: fields.ts });
    if (check.outcome === 'absent') absent.push({ index, checked, store: check.store });
    else outcomes[index] = check;
  });

  const signed: string[] = [];
  for (let from = 0; from < absent.length; from += SIGN_CHUNK)
    signed.push(
      ...(await signAll(
        binder,
        absent.slice(from, from + SIGN_CHUNK).map(({ checked }) => checked.fields),
      )),
    );

  let lastSeq = 0;
  await allLimited(limit, absent.entries(), async ([i, { index, checked, store }]) => {
    const { associationJson, ourSignature } = withOurSignature(checked, signed[i] as string);
    const { fields, clientLowercaseAddress } = checked;
    const stored = await store({
      mxid: fields.mxid,
      clientLowercaseAddress,
      associationJson,
      notBefore: fields.not_before,
      notAfter: fields.not_after,
    });
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

/**
 * `work` on every item through `limit`. Once one fails nothing more is started (the request fails
 * anyway), and its error is thrown when the work already started has ended: nothing is left
 * running behind the answer.
 */
async function allLimited<T>(limit: ConcurrencyLimit, items: Iterable<T>, work: (item: T) => Promise<void>) {
  let failed = false;
  const settled = await Promise.allSettled(
    Array.from(items, (item) =>
      limit(async () => {
        if (failed) return;
        await work(item).catch((err: unknown) => {
          failed = true;
          throw err;
        });
      }),
    ),
  );
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

const countsOf = (outcomes: AssociationOutcome[]) => {
  const counts = { imported: 0, present: 0, refused: 0 };
  for (const { outcome } of outcomes) counts[outcome]++;
  return counts;
};
