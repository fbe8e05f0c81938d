import { caseFold } from '@tessera/addresses';
import type { AssociationFields, AssociationImport } from '@tessera/admin-imports';
import { lookupHash } from '@tessera/lookup-hash';
import type { Planned, PlanReport } from './plan-report.js';
import type { GlobalAssociationRow, LocalAssociationRow, SydentRows } from './sydent-db.js';

/** The fields Sydent signs in an association; anything else at its top level leaked in (see below). */
const SIGNED_FIELDS = ['medium', 'address', 'mxid', 'ts', 'not_before', 'not_after'] as const;
const KEPT_KEYS = new Set<string>([...SIGNED_FIELDS, 'signatures']);

export const REASONS = {
  tombstone: 'a tombstone (an unbind): history only, nothing to look up',
  caseDuplicate: 'an older row of the same address in another case (a duplicate from before Sydent 2.4)',
  unbound: 'unbound later (the local row is a tombstone)',
  supersededOwn: 'superseded: the address was bound again later',
  ownWithoutLocal: 'own row with no local row (superseded; Sydent kept it by mistake)',
  duplicateOwn: 'a second global row for the same local binding',
  expired: 'expired (not_after has passed at --now)',
  notYetValid: 'not valid yet (not_before is after --now)',
  shadowedByPeer: 'shadowed by a newer binding from a replication peer',
  shadowedByOwn: 'shadowed by a newer binding of this server',
  shadowedByNewerPeer: 'shadowed by a newer binding from another peer row',
  badJson: 'its sgAssoc is not a signed association (JSON object with the six fields)',
  mismatch: 'its sgAssoc does not match its columns (medium, mxid, ts, not_before, not_after)',
  badMedium: 'medium is neither email nor msisdn',
} as const;

export const NOTES = {
  stripped:
    'sanitized: fields other than the six stripped (Sydent bug: another user’s invites), old signatures dropped',
  refolded: 'own row signed over an address that is not case-folded: re-signed over the folded address',
  unsigned: 'own live binding with no global row: signed anew by the directory',
  unknownOrigin: 'origin is neither this server nor a known peer (renamed server?): kept as a peer’s row',
  hashMismatch: 'lookup_hash differs from sha256 of the case-folded address (a row from before Sydent 2.4)',
} as const;

type Context = { serverName: string; now: number; report: PlanReport };
type Key = string;

/** The newest local row of a folded address: the truth about this server's own binding. */
type OwnBinding = {
  row: LocalAssociationRow;
  folded: string;
  /** The global row that carries its signed JSON. */
  globalId?: number;
  /** Whether that global row matched by originId (better than the pre-v1 fallback). */
  byId?: boolean;
};
type PeerCandidate = { id: number; ts: number; label: string };

const foldAddress = (medium: string, address: string) => (medium === 'email' ? caseFold(address) : address);
const keyOf = (medium: string, folded: string): Key => `${medium} ${folded}`;
const localLabel = (row: LocalAssociationRow) =>
  `local ${row.id} ${row.medium} ${row.address} → ${row.mxid ?? '(unbound)'}`;
const globalLabel = (row: GlobalAssociationRow) =>
  `global ${row.id} (${row.originServer}:${row.originId}) ${row.medium} ${row.address} → ${row.mxid}`;

/**
 * The associations to import (REFERENCE §1, §4, §5):
 * - own data: per case-folded address, the newest local row (tombstones included; a tie goes to the
 *   higher id) is this server's binding; its signed JSON is the global row whose originId is that
 *   row's id (or, for a database renumbered before schema v1, the one with the same medium, address,
 *   mxid and ts). Every other own row is superseded; an own binding whose global row is missing is
 *   signed anew.
 * - a peer's rows valid at `now` compete per folded address by newest ts, and with the own binding
 *   (a tie goes to the own one).
 * - the signed JSON keeps the six fields and the signatures; any other top-level key (Sydent's
 *   leaked `invites`) is stripped and the signatures that covered it dropped: the directory signs
 *   again (own rows), or only its own signature remains (a peer's). An own row signed over an
 *   address that is not folded is re-signed over the folded one.
 * Every left-out row and every noteworthy one goes to the report; lookup hashes are recomputed from
 * the folded address with the pepper and compared.
 */
export function* planAssociations(
  rows: Pick<SydentRows, 'localAssociations' | 'globalAssociations' | 'peerNames' | 'pepper'>,
  { serverName, now, report }: Context,
): Generator<Planned<AssociationImport>> {
  const leftOut = (reason: string, label: string) => report.leftOut.associations.add(reason, label);
  const pepper = rows.pepper();
  const checkHash = (table: string, id: number, medium: string, folded: string, stored: string | null) => {
    if (pepper === null || stored === null) return;
    const expected = lookupHash(folded, medium, pepper);
    if (stored !== expected)
      report.notes.add(NOTES.hashMismatch, `${table} ${id}: stored ${stored}, expected ${expected}`);
  };

  // Pass 1: the own binding of every folded address.
  const own = new Map<Key, OwnBinding>();
  for (const row of rows.localAssociations()) {
    const folded = foldAddress(row.medium, row.address);
    if (row.mxid !== null) checkHash('local', row.id, row.medium, folded, row.lookupHash);
    const key = keyOf(row.medium, folded);
    const known = own.get(key);
    if (known === undefined) {
      own.set(key, { row, folded });
      continue;
    }
    const [kept, dropped] = isNewerLocal(row, known.row) ? [row, known.row] : [known.row, row];
    own.set(key, { row: kept, folded });
    leftOut(REASONS.caseDuplicate, `${folded}: kept ${localLabel(kept)}; dropped ${localLabel(dropped)}`);
  }

  // Pass 2: which global row carries each own binding, and the newest valid peer row per address.
  const peers = new Set(rows.peerNames());
  const bestPeer = new Map<Key, PeerCandidate>();
  for (const row of rows.globalAssociations()) {
    const folded = foldAddress(row.medium, row.address);
    checkHash('global', row.id, row.medium, folded, row.lookupHash);
    const key = keyOf(row.medium, folded);
    const label = globalLabel(row);
    if (row.originServer === serverName) {
      const binding = own.get(key);
      // `binding` has this row's medium and folded address (it was found by them). Before schema v1
      // Sydent renumbered the rows (REFERENCE §1): an originId equal to the local id proves nothing
      // unless the user agrees too; otherwise only the content joins them.
      const byId = binding !== undefined && binding.row.id === row.originId && binding.row.mxid === row.mxid;
      const byContent =
        binding !== undefined &&
        binding.row.mxid === row.mxid &&
        binding.row.ts === row.ts &&
        binding.row.address === row.address;
      if (binding === undefined) leftOut(REASONS.ownWithoutLocal, label);
      else if (!byId && !byContent) leftOut(binding.row.mxid === null ? REASONS.unbound : REASONS.supersededOwn, label);
      else if (binding.globalId !== undefined && (binding.byId || !byId)) leftOut(REASONS.duplicateOwn, label);
      else {
        if (binding.globalId !== undefined) leftOut(REASONS.duplicateOwn, `global ${binding.globalId}`);
        binding.globalId = row.id;
        binding.byId = byId;
      }
      continue;
    }
    if (!peers.has(row.originServer)) report.notes.add(NOTES.unknownOrigin, label);
    const outside = windowProblem(row.notBefore, row.notAfter, now);
    if (outside !== undefined) {
      leftOut(outside, label);
      continue;
    }
    const known = bestPeer.get(key);
    if (known === undefined || row.ts > known.ts || (row.ts === known.ts && row.id > known.id)) {
      if (known !== undefined) leftOut(REASONS.shadowedByNewerPeer, known.label);
      bestPeer.set(key, { id: row.id, ts: row.ts, label });
    } else leftOut(REASONS.shadowedByNewerPeer, label);
  }

  // Decide each address: the own binding against the best peer row.
  const chosen = new Set<number>();
  const unsigned: OwnBinding[] = [];
  for (const [key, binding] of own) {
    const { row } = binding;
    const peer = bestPeer.get(key);
    bestPeer.delete(key);
    const ownLive = row.mxid !== null && windowProblem(row.notBefore, row.notAfter, now) === undefined;
    if (ownLive && (peer === undefined || (row.ts ?? 0) >= peer.ts)) {
      if (peer !== undefined) leftOut(REASONS.shadowedByOwn, peer.label);
      if (binding.globalId === undefined) unsigned.push(binding);
      else chosen.add(binding.globalId);
    } else if (peer !== undefined) {
      chosen.add(peer.id);
      if (ownLive)
        leftOut(
          REASONS.shadowedByPeer,
          binding.globalId === undefined ? localLabel(row) : `global ${binding.globalId}`,
        );
    } else if (row.mxid === null) leftOut(REASONS.tombstone, localLabel(row));
    else leftOut(windowProblem(row.notBefore, row.notAfter, now) ?? REASONS.expired, localLabel(row));
  }
  for (const peer of bestPeer.values()) chosen.add(peer.id);
  own.clear();
  bestPeer.clear();

  // Pass 3: the chosen rows' signed JSON, sanitized.
  for (const row of rows.globalAssociations()) {
    if (!chosen.has(row.id)) continue;
    const planned = associationOf(row, serverName, report);
    if (planned !== undefined) {
      report.planned.associations++;
      yield planned;
    }
  }
  for (const { row, folded } of unsigned) {
    if (row.medium !== 'email' && row.medium !== 'msisdn') {
      leftOut(REASONS.badMedium, localLabel(row));
      continue;
    }
    report.notes.add(NOTES.unsigned, localLabel(row));
    report.planned.associations++;
    yield {
      label: localLabel(row),
      item: {
        importId: `sydent:${serverName}:${row.id}`,
        association: {
          medium: row.medium,
          address: folded,
          mxid: row.mxid as string,
          ts: row.ts ?? 0,
          not_before: row.notBefore ?? row.ts ?? 0,
          not_after: row.notAfter ?? 0,
        },
      },
    };
  }
}

function isNewerLocal(row: LocalAssociationRow, than: LocalAssociationRow): boolean {
  const ts = row.ts ?? Number.NEGATIVE_INFINITY;
  const thanTs = than.ts ?? Number.NEGATIVE_INFINITY;
  return ts > thanTs || (ts === thanTs && row.id > than.id);
}

/** Sydent serves a row while not_before < now < not_after. */
function windowProblem(notBefore: number | null, notAfter: number | null, now: number): string | undefined {
  if (notAfter !== null && notAfter <= now) return REASONS.expired;
  if (notBefore !== null && notBefore > now) return REASONS.notYetValid;
  return undefined;
}

type SignedJson = Record<string, unknown> & { signatures?: unknown };

function associationOf(
  row: GlobalAssociationRow,
  serverName: string,
  report: PlanReport,
): Planned<AssociationImport> | undefined {
  const label = globalLabel(row);
  let signed: SignedJson;
  try {
    signed = JSON.parse(row.sgAssoc) as SignedJson;
  } catch {
    report.leftOut.associations.add(REASONS.badJson, label);
    return undefined;
  }
  if (
    signed === null ||
    typeof signed !== 'object' ||
    Array.isArray(signed) ||
    typeof signed.address !== 'string' ||
    !SIGNED_FIELDS.every((field) => signed[field] !== undefined)
  ) {
    report.leftOut.associations.add(REASONS.badJson, label);
    return undefined;
  }
  if (row.medium !== 'email' && row.medium !== 'msisdn') {
    report.leftOut.associations.add(REASONS.badMedium, label);
    return undefined;
  }
  if (
    signed.medium !== row.medium ||
    signed.mxid !== row.mxid ||
    signed.ts !== row.ts ||
    signed.not_before !== row.notBefore ||
    signed.not_after !== row.notAfter ||
    foldAddress(row.medium, signed.address) !== foldAddress(row.medium, row.address)
  ) {
    report.leftOut.associations.add(REASONS.mismatch, label);
    return undefined;
  }
  const isOwn = row.originServer === serverName;
  const leaked = Object.keys(signed).filter((key) => !KEPT_KEYS.has(key));
  const folded = foldAddress(row.medium, signed.address);
  let signatures = isSignatures(signed.signatures) ? signed.signatures : undefined;
  if (leaked.length > 0) {
    signatures = undefined; // they covered the leaked fields: none holds for the clean association
    report.notes.add(
      NOTES.stripped,
      `${label}: stripped ${leaked.join(', ')}; ${isOwn ? 're-signed' : 'only our signature remains'}`,
    );
  } else if (isOwn && folded !== signed.address) {
    signatures = undefined;
    report.notes.add(NOTES.refolded, label);
  }
  const association: AssociationImport['association'] = {
    medium: row.medium,
    address: isOwn ? folded : signed.address,
    mxid: row.mxid,
    ts: row.ts,
    not_before: row.notBefore,
    not_after: row.notAfter,
  } satisfies AssociationFields;
  if (signatures !== undefined) association.signatures = signatures;
  return { label, item: { importId: `sydent:${row.originServer}:${row.originId}`, association } };
}

function isSignatures(value: unknown): value is Record<string, Record<string, string>> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value).every(
    (byKey) =>
      byKey !== null &&
      typeof byKey === 'object' &&
      !Array.isArray(byKey) &&
      Object.values(byKey).every((signature) => typeof signature === 'string'),
  );
}
