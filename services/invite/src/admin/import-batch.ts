import type { IncomingMessage } from 'node:http';
import { MAX_IMPORT_BATCH } from '@tessera/admin-imports';
import { readImportItems as readItems } from '@tessera/service-kit';

// A thousand of Sydent's widest invite rows (addresses of up to 500 characters, 255-byte room and
// user IDs, 128-letter tokens) come to under 1.5 MB.
const MAX_IMPORT_BODY_BYTES = 4 * 1024 * 1024;

/** The items of an import request (`{items: [...]}`, at most MAX_IMPORT_BATCH), each still to be checked. */
export async function readImportItems(req: IncomingMessage): Promise<unknown[]> {
  return readItems(req, { maxItems: MAX_IMPORT_BATCH, maxBytes: MAX_IMPORT_BODY_BYTES });
}
