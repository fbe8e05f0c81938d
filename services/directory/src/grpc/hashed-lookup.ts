import { normalizeThreepid } from '@tessera/addresses';
import { isLookupAlgorithm, parseNoneLookupEntry } from '@tessera/lookup-hash';
import type { HashedAnswer, HashedQuery, QueryError } from '@tessera/proto/tessera/directory/v1/directory';
import type { Secrets } from '@tessera/server-secret';
import type { Medium } from '@tessera/spec-params';
import type { Peppers } from '../peppers.js';
import type { ReadModel } from '../read-model.js';

export interface HashedLookupDeps {
  peppers: Peppers;
  readModel: ReadModel;
  secrets: Secrets;
  /** TESSERA_LOOKUP_MAX_ADDRESSES */
  maxAddresses: number;
  now: () => number;
}

/** A query that passed its checks: where each address is looked for. */
type Planned =
  | { kind: 'error'; error: QueryError }
  | { kind: 'sha256'; pepperId: string; hashes: readonly string[] }
  | { kind: 'none'; addrKeys: (string | null)[] };

const MEDIA: readonly string[] = ['email', 'msisdn'] satisfies Medium[];

/**
 * v2 lookup for several clients' queries at once: each is checked on its own (its error is its
 * answer only), then the whole call costs one query per pepper used and one for every `none`
 * address. Answers each query's users in the order of its addresses, "" where none is bound.
 */
export async function hashedLookup(queries: readonly HashedQuery[], deps: HashedLookupDeps): Promise<HashedAnswer[]> {
  const { peppers, readModel, secrets, maxAddresses, now } = deps;
  const current = peppers.current();
  const plan = (query: HashedQuery): Planned => {
    if (query.addresses.length > maxAddresses)
      return error('M_TOO_LARGE', `at most ${maxAddresses} addresses per lookup`);
    if (!isLookupAlgorithm(query.algorithm)) return error('M_INVALID_PARAM', 'unsupported algorithm');
    const pepper = peppers.accepted(query.pepper);
    if (pepper === undefined)
      return {
        kind: 'error',
        error: {
          errcode: 'M_INVALID_PEPPER',
          error: 'unknown or expired pepper',
          lookupPepper: current.pepper,
          algorithm: 'sha256',
        },
      };
    if (query.algorithm === 'sha256') return { kind: 'sha256', pepperId: pepper.pepperId, hashes: query.addresses };
    const addrKeys: (string | null)[] = [];
    for (const entry of query.addresses) {
      const parsed = parseNoneLookupEntry(entry);
      if (parsed === undefined) return error('M_INVALID_PARAM', 'a "none" address must be "<address> <medium>"');
      addrKeys.push(addrKeyOf(parsed.medium, parsed.address, secrets));
    }
    return { kind: 'none', addrKeys };
  };
  const planned = queries.map(plan);

  const at = now();
  const hashesByPepper = new Map<string, string[]>();
  const addrKeys: string[] = [];
  for (const p of planned) {
    if (p.kind === 'sha256') {
      const list = hashesByPepper.get(p.pepperId) ?? [];
      hashesByPepper.set(p.pepperId, list);
      list.push(...p.hashes);
    } else if (p.kind === 'none') for (const key of p.addrKeys) if (key !== null) addrKeys.push(key);
  }
  const [byPepper, byAddrKey] = await Promise.all([
    Promise.all(
      [...hashesByPepper].map(
        async ([pepperId, hashes]) => [pepperId, await readModel.byHashes(pepperId, hashes, at)] as const,
      ),
    ).then((entries) => new Map(entries)),
    readModel.mxidsByAddrKeys(addrKeys, at),
  ]);

  return planned.map((p): HashedAnswer => {
    if (p.kind === 'error') return { outcome: { $case: 'error', value: p.error } };
    if (p.kind === 'sha256') {
      const found = byPepper.get(p.pepperId);
      return mappings(p.hashes.map((hash) => found?.get(hash) ?? ''));
    }
    return mappings(p.addrKeys.map((key) => (key === null ? '' : (byAddrKey.get(key) ?? ''))));
  });
}

const mappings = (mxids: string[]): HashedAnswer => ({ outcome: { $case: 'mappings', value: { mxids } } });
const error = (errcode: string, message: string): Planned => ({
  kind: 'error',
  error: { errcode, error: message, lookupPepper: '', algorithm: '' },
});

/** The address key of a `none` entry's 3PID; null when it cannot be bound (an unknown medium, a bad address). */
function addrKeyOf(medium: string, address: string, secrets: Secrets): string | null {
  if (!MEDIA.includes(medium)) return null;
  try {
    return secrets.addrKey(medium as Medium, normalizeThreepid(medium, address));
  } catch {
    return null;
  }
}
