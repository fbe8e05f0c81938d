import { normalizeEmail } from '@tessera/addresses';
import type { EphemeralKeyImport, InviteImport } from '@tessera/admin-imports';
import { decodeBase64 } from '@tessera/canonical-json';
import { TesseraError } from '@tessera/errors';
import { parseRoomId, parseUserId } from '@tessera/spec-params';
import { urlSafeUnpadded } from '../invites.js';

// The items of an import request, checked one by one: an item that cannot be taken is refused with
// a reason that names the rule and never the value (reasons reach the operator's terminal and logs).

/** An InviteImport that can be stored: its address also normalised, its times as dates. */
export type CheckedInvite = {
  token: string;
  address: string;
  normalisedAddress: string;
  roomId: string;
  sender: string;
  receivedAt: Date;
  /** Sydent's `sent_ts`: when it attempted the onbind call; null while the invite was pending there. */
  attemptedAt: Date | null;
};

export type Refused = { refused: string };

// Sydent's tokens are 128 letters, ours 32: printable ASCII, no spaces (the token is in the mailed
// sign-ed25519 link and in room state), of a length no generator of either makes shorter or longer.
const TOKEN = /^[\x21-\x7e]{16,255}$/;
const EPHEMERAL_KEY_BYTES = 32;

/** The item as an invite to store, or why it is refused. */
export function checkInviteImport(item: unknown): CheckedInvite | Refused {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return { refused: 'not a JSON object' };
  const { token, medium, address, roomId, sender, receivedTs, sentTs } = item as Partial<
    Record<keyof InviteImport, unknown>
  >;
  if (typeof token !== 'string' || !TOKEN.test(token))
    return { refused: 'token must be 16 to 255 printable ASCII characters without spaces' };
  if (medium !== 'email') return { refused: 'medium must be email (invites are of email addresses only)' };
  if (typeof address !== 'string' || typeof roomId !== 'string' || typeof sender !== 'string')
    return { refused: 'address, roomId and sender must be strings' };
  const receivedAt = dateOf(receivedTs);
  if (receivedAt === null) return { refused: 'receivedTs must be milliseconds since the epoch' };
  const attemptedAt = sentTs === null ? null : dateOf(sentTs);
  if (sentTs !== null && attemptedAt === null)
    return { refused: 'sentTs must be null or milliseconds since the epoch' };
  try {
    const normalisedAddress = normalizeEmail(address);
    return {
      token,
      address,
      normalisedAddress,
      roomId: parseRoomId(roomId, 'roomId'),
      sender: parseUserId(sender, 'sender'),
      receivedAt,
      attemptedAt,
    };
  } catch (err) {
    if (err instanceof TesseraError) return { refused: err.message };
    throw err;
  }
}

/** The item's key in the form isvalid compares (unpadded URL-safe base64), or why it is refused. */
export function checkEphemeralKeyImport(item: unknown): string | Refused {
  const { publicKey } = (item ?? {}) as Partial<Record<keyof EphemeralKeyImport, unknown>>;
  if (typeof publicKey !== 'string') return { refused: 'publicKey must be a string' };
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(publicKey);
  } catch {
    return { refused: 'publicKey is not base64' };
  }
  if (bytes.length !== EPHEMERAL_KEY_BYTES) return { refused: 'publicKey is not an ed25519 public key (32 bytes)' };
  return urlSafeUnpadded(publicKey);
}

function dateOf(ms: unknown): Date | null {
  return typeof ms === 'number' && Number.isSafeInteger(ms) && ms >= 0 ? new Date(ms) : null;
}
