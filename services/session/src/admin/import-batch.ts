import type { IncomingMessage } from 'node:http';
import { type ImportBatchAnswer, type ItemOutcome, MAX_IMPORT_BATCH } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import { readImportItems } from '@tessera/service-kit';

// One import request of the admin API (`POST <path> {items: [...]}`, @tessera/admin-imports):
// each item imported on its own, a refused one answered with its reason while the others go on.

/** A full batch of the largest items (a session: an address, a secret and a token of up to 255 characters each) fits. */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Items worked on at once: each waits on NATS (a load, a data key, an append) most of its time. */
const ITEMS_IN_FLIGHT = 64;

/**
 * Imports one item, answering `imported` or `present`; throws a TesseraError, whose message is the
 * reason, for an item it refuses (it must name no secret or address: the CLI prints it). Any other
 * error (the store unreachable) ends the request: the CLI sends the batch again.
 */
export type ImportItem = (item: unknown) => Promise<ItemOutcome>;

export const IMPORTED: ItemOutcome = { outcome: 'imported' };
export const PRESENT: ItemOutcome = { outcome: 'present' };

/** Reads the batch and imports its items, ITEMS_IN_FLIGHT at a time; the outcomes in the items' order. */
export async function importBatch(req: IncomingMessage, importItem: ImportItem): Promise<ImportBatchAnswer> {
  const items = await readImportItems(req, { maxItems: MAX_IMPORT_BATCH, maxBytes: MAX_BATCH_BYTES });
  const outcomes: ItemOutcome[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const work = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        outcomes[index] = await outcomeOf(importItem, items[index]);
      } catch (err) {
        failed = true; // the others stop taking items; the request fails with this error
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ITEMS_IN_FLIGHT, items.length) }, work));
  return { outcomes };
}

async function outcomeOf(importItem: ImportItem, item: unknown): Promise<ItemOutcome> {
  try {
    return await importItem(item);
  } catch (err) {
    if (err instanceof TesseraError) return { outcome: 'refused', reason: err.message };
    throw err;
  }
}

/** An item's fields: it must be a JSON object. */
export function fieldsOf(item: unknown): Record<string, unknown> {
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    throw new TesseraError('M_BAD_JSON', 'each item must be a JSON object');
  return item as Record<string, unknown>;
}

/** A time in milliseconds since the epoch, or M_INVALID_PARAM naming `name`. */
export function millisecondsOf(value: unknown, name: string): Date {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new TesseraError('M_INVALID_PARAM', `${name} must be milliseconds since the epoch`);
  return new Date(value);
}

/** A string field, or M_INVALID_PARAM naming it. */
export function stringOf(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TesseraError('M_INVALID_PARAM', `${name} must be a string`);
  return value;
}
