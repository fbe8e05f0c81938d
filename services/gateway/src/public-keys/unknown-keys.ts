import type { ListKeysRequest, ListKeysResponse, PublicKey } from '@tessera/proto/tessera/signing/v1/signing';

/** The one signing call the gateway still makes for pubkey (service-kit's DeadlineClient has it). */
export type SigningKeyLister = { listKeys(request: ListKeysRequest): Promise<ListKeysResponse> };

export interface UnknownKeys {
  /** Signing's own word on a key id the event stream has never mentioned; undefined when signing has no such key. */
  lookup(keyId: string): Promise<PublicKey | undefined>;
}

const DEFAULT_FRESH_MS = 1_000;

/**
 * Asks signing about key ids the stream has not (yet) mentioned: a key signing announced a moment
 * ago, whose notice is still on its way. One ListKeys call answers every such id, so requests for
 * unknown ids share it: while one call is under way every lookup waits for it, and its answer
 * serves for `freshMs` more. However many different ids arrive, signing gets at most one call at
 * a time, and about one a second (a failed call is not remembered: the next lookup tries again).
 */
export function unknownKeys(
  signing: SigningKeyLister,
  { freshMs = DEFAULT_FRESH_MS, now = Date.now }: { freshMs?: number; now?: () => number } = {},
): UnknownKeys {
  let known: { at: number; byId: Map<string, PublicKey> } | undefined;
  let pending: Promise<Map<string, PublicKey>> | undefined;

  const list = () => {
    pending ??= signing
      .listKeys({})
      .then(({ keys }) => {
        const byId = new Map(keys.map((key) => [key.keyId, key]));
        known = { at: now(), byId };
        return byId;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  return {
    async lookup(keyId) {
      if (known !== undefined && now() - known.at < freshMs) return known.byId.get(keyId);
      return (await list()).get(keyId);
    },
  };
}
