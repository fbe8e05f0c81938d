import type { ItemOutcome } from '@tessera/admin-imports';
import type { Binder } from '../binder.js';
import type { Peppers } from '../peppers.js';

// The alphabet of every pepper Sydent (5 characters) and Tessera (PEPPER_LENGTH) make: no space to
// confuse the hashed `"<address> <medium> <pepper>"`, nothing a client could mangle.
const IMPORTED_PEPPER = /^[A-Za-z0-9]{1,64}$/;

/**
 * `POST import/pepper {pepper}`: `present` when this pepper was ever created here (nothing
 * appended, also once rotated away); else it is made the newest and answered `imported` once the projector has indexed it
 * and this replica offers it. A pepper of another form is `refused`.
 */
export async function importPepper(
  body: Record<string, unknown>,
  { peppers, binder }: { peppers: Peppers; binder: Binder },
): Promise<ItemOutcome> {
  const { pepper } = body;
  if (typeof pepper !== 'string' || !IMPORTED_PEPPER.test(pepper))
    return { outcome: 'refused', reason: 'pepper must be 1 to 64 letters and digits (A-Z, a-z, 0-9)' };
  const seq = await peppers.adopt(pepper);
  if (seq === null) return { outcome: 'present' };
  await binder.visibleWhileApplying(seq);
  await peppers.refresh();
  return { outcome: 'imported' };
}
