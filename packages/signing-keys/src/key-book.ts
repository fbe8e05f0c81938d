import { encodeBase64, tryDecodeBase64 } from '@tessera/canonical-json';
import type { KeyEvent } from './key.js';

/**
 * What the public may learn of a key id: its public key while it is valid; once revoked, only
 * that it was (pubkey answers 404, isvalid false: a verifier that fetches the key by id, as
 * Synapse does for a v1 lookup, trusts whatever it is given without asking isvalid).
 */
export type KeyView = { status: 'active'; publicKey: string } | { status: 'revoked' };

/**
 * The keys signing announced on `tessera.key.<keyId>`, each as of the last decision read from the
 * stream. Reads come in any order (a full listing, a reload after a notice); a decision older than
 * the one kept, by stream sequence, changes nothing.
 */
export class KeyBook {
  readonly #keys = new Map<string, { seq: number; view: KeyView }>();
  /** The public keys of the active keys, unpadded standard base64, for isvalid. */
  #valid = new Set<string>();

  /** Applies the events of the decision stored at `seq` of the key's subject; false when it is not newer. */
  apply(keyId: string, seq: number, events: readonly KeyEvent[]): boolean {
    const known = this.#keys.get(keyId);
    if (known !== undefined && known.seq >= seq) return false;
    let view = known?.view;
    for (const event of events) {
      // Each event says all there is to say: a decision's last event is the key's state.
      if (event.type === 'KeyCreated') {
        const publicKey = canonicalPublicKey(event.data.publicKey);
        // Signing writes unpadded base64; a key that does not read as base64 cannot be vouched for.
        view = publicKey === null ? { status: 'revoked' } : { status: 'active', publicKey };
      } else view = { status: 'revoked' };
    }
    if (view === undefined) return false; // no event of ours in it: nothing learnt
    this.#keys.set(keyId, { seq, view });
    this.#valid = new Set(
      [...this.#keys.values()].flatMap(({ view }) => (view.status === 'active' ? [view.publicKey] : [])),
    );
    return true;
  }

  /** The key id's view; undefined when the stream has never mentioned it. */
  lookup(keyId: string): KeyView | undefined {
    return this.#keys.get(keyId)?.view;
  }

  /** The view of the key the stream announced first (the lowest sequence); undefined before any. */
  firstAnnounced(): KeyView | undefined {
    let first: { seq: number; view: KeyView } | undefined;
    for (const entry of this.#keys.values()) if (first === undefined || entry.seq < first.seq) first = entry;
    return first?.view;
  }

  /** Whether `publicKey` (base64, padded or not, either alphabet) is the key of an active key id. */
  isValid(publicKey: string): boolean {
    const canonical = canonicalPublicKey(publicKey);
    return canonical !== null && this.#valid.has(canonical);
  }

  get size(): number {
    return this.#keys.size;
  }
}

/** Unpadded standard base64 of the bytes `text` encodes; null when it is not base64. */
function canonicalPublicKey(text: string): string | null {
  const bytes = tryDecodeBase64(text);
  return bytes === undefined ? null : encodeBase64(bytes);
}
