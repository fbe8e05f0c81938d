import type { IncomingMessage } from 'node:http';
import { MAX_IMPORT_BATCH } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import { readJsonObject } from '@tessera/service-kit';

// A thousand of Sydent's widest invite rows (addresses of up to 500 characters, 255-byte room and
// user IDs, 128-letter tokens) come to under 1.5 MB.
const MAX_IMPORT_BODY_BYTES = 4 * 1024 * 1024;

/** The items of an import request (`{items: [...]}`, at most MAX_IMPORT_BATCH), each still to be checked. */
export async function readImportItems(req: IncomingMessage): Promise<unknown[]> {
  const { items } = await readJsonObject(req, MAX_IMPORT_BODY_BYTES);
  if (!Array.isArray(items)) throw new TesseraError('M_BAD_JSON', 'the body must be {"items": [...]}');
  if (items.length > MAX_IMPORT_BATCH)
    throw new TesseraError('M_TOO_LARGE', `at most ${MAX_IMPORT_BATCH} items in one request`);
  return items;
}
