// The items of an association import (AssociationImport of @tessera/admin-imports), checked, and
// our signature merged into the ones they carry. Pure: signing is the caller's.
import { clientLowercaseEmail, normalizeThreepid } from '@tessera/addresses';
import type { AssociationOutcome } from '@tessera/admin-imports';
import { canonicalJson, isPlainObject } from '@tessera/canonical-json';
import { TesseraError } from '@tessera/errors';
import { type Medium, parseUserId } from '@tessera/spec-params';
import type { UnsignedAssociation } from '../association-json.js';

type Signatures = Record<string, Record<string, string>>;

/** An item that passed every check: the fields as signed, the 3PID as stored. */
export type CheckedAssociation = {
  importId: string;
  /** The six signed fields exactly as given (the address in the case its signer used). */
  fields: UnsignedAssociation;
  /** Every signature given (none: empty). */
  signatures: Signatures;
  /** The normalised address: the 3PID the binding is of. */
  address: string;
  /** Email: `fields.address.toLowerCase()` where it differs from `address`; else empty. */
  clientLowercaseAddress: string;
};

const ITEM_KEYS = new Set(['importId', 'association']);
const ASSOCIATION_KEYS = new Set(['medium', 'address', 'mxid', 'ts', 'not_before', 'not_after', 'signatures']);
const MAX_IMPORT_ID_CHARS = 256;
// Sydent rows carry one or two signatures; a few more are allowed, not an unbounded blob to store.
const MAX_SIGNERS = 8;
const MAX_KEYS_PER_SIGNER = 8;
const MAX_SIGNATURE_PART_CHARS = 256;
// 9999-12-31: a timestamp past it is no millisecond time from any server (seconds or µs by mistake).
const MAX_MILLIS = 253_402_300_799_999;
const PRINTABLE = /^[^\p{Cc}\p{Cs}]+$/u;

const refuse = (reason: string) => new TesseraError('M_INVALID_PARAM', reason);

/**
 * Checks one item: `importId` a printable string; `association` holding the six fields and at
 * most `signatures`, the address valid for its medium (normalised for the 3PID, kept as given
 * for the signature), the user ID valid, the timestamps milliseconds with
 * not_before ≤ not_after and ts ≤ not_after. Throws the TesseraError whose message is the reason.
 */
export function checkAssociationItem(item: unknown): CheckedAssociation {
  if (!isPlainObject(item)) throw refuse('an item must be a JSON object');
  const unknownKey = Object.keys(item).find((key) => !ITEM_KEYS.has(key));
  if (unknownKey !== undefined) throw refuse(`unknown item field "${unknownKey.slice(0, 40)}"`);
  const { importId, association } = item;
  if (typeof importId !== 'string' || !PRINTABLE.test(importId) || importId.length > MAX_IMPORT_ID_CHARS)
    throw refuse(`importId must be a printable string of at most ${MAX_IMPORT_ID_CHARS} characters`);
  if (!isPlainObject(association)) throw refuse('association must be a JSON object');
  const extra = Object.keys(association).find((key) => !ASSOCIATION_KEYS.has(key));
  if (extra !== undefined)
    throw refuse(`association may hold only the six signed fields and signatures, not "${extra.slice(0, 40)}"`);

  const { medium, address, mxid, ts, not_before, not_after } = association;
  if (medium !== 'email' && medium !== 'msisdn') throw refuse('medium must be "email" or "msisdn"');
  if (typeof address !== 'string') throw refuse('address must be a string');
  const normalised = normalizeThreepid(medium, address);
  if (typeof mxid !== 'string') throw refuse('mxid must be a string');
  parseUserId(mxid);
  const [at, from, until] = [millis(ts, 'ts'), millis(not_before, 'not_before'), millis(not_after, 'not_after')];
  if (from > until) throw refuse('not_before must not be after not_after');
  if (at > until) throw refuse('ts must not be after not_after');

  return {
    importId,
    fields: { address, medium: medium as Medium, mxid, ts: at, not_before: from, not_after: until },
    signatures: checkSignatures(association.signatures),
    address: normalised,
    clientLowercaseAddress: medium === 'email' ? (clientLowercaseEmail(address) ?? '') : '',
  };
}

function millis(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_MILLIS)
    throw refuse(`${name} must be milliseconds since the epoch (an integer from 0 to ${MAX_MILLIS})`);
  return value;
}

function checkSignatures(value: unknown): Signatures {
  if (value === undefined) return {};
  const shape = 'signatures must map server names to maps of key ids to signatures (strings)';
  if (!isPlainObject(value)) throw refuse(shape);
  const signers = Object.entries(value);
  if (signers.length > MAX_SIGNERS) throw refuse(`at most ${MAX_SIGNERS} signers`);
  // fromEntries defines own properties: a signer named "__proto__" stays a name, not a prototype.
  return Object.fromEntries(
    signers.map(([signer, keys]) => {
      if (!isPlainObject(keys) || !isPart(signer)) throw refuse(shape);
      const entries = Object.entries(keys);
      if (entries.length > MAX_KEYS_PER_SIGNER) throw refuse(`at most ${MAX_KEYS_PER_SIGNER} keys per signer`);
      if (!entries.every(([keyId, signature]) => isPart(keyId) && isPart(signature))) throw refuse(shape);
      return [signer, Object.fromEntries(entries) as Record<string, string>];
    }),
  );
}

const isPart = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= MAX_SIGNATURE_PART_CHARS && PRINTABLE.test(value);

/**
 * The association to store: the six fields with every signature given and ours (signing's
 * answer over the six fields, one signature) put in, replacing a given one of the same server and
 * key id; and how ours compares with that given one (AssociationOutcome's `ourSignature`).
 */
export function withOurSignature(
  checked: CheckedAssociation,
  signedJson: string,
): { associationJson: string; keyId: string; ourSignature: NonNullable<AssociationOutcome['ourSignature']> } {
  const { signer, keyId, signature } = onlySignature(signedJson);
  const ours = Object.hasOwn(checked.signatures, signer) ? checked.signatures[signer] : undefined;
  const given = ours !== undefined && Object.hasOwn(ours, keyId) ? ours[keyId] : undefined;
  const signatures = { ...checked.signatures, [signer]: { ...ours, [keyId]: signature } };
  return {
    associationJson: canonicalJson({ ...checked.fields, signatures }),
    keyId,
    ourSignature: given === undefined ? 'added' : given === signature ? 'same' : 'changed',
  };
}

/** The one signature in signing's answer (it signs unsigned JSON with one key under one name). */
function onlySignature(signedJson: string): { signer: string; keyId: string; signature: string } {
  const { signatures } = JSON.parse(signedJson) as { signatures?: Signatures };
  const [signer, keys] = Object.entries(signatures ?? {})[0] ?? [];
  const [keyId, signature] = Object.entries(keys ?? {})[0] ?? [];
  if (signer === undefined || keyId === undefined || typeof signature !== 'string')
    throw new Error('signing answered an association without its signature');
  return { signer, keyId, signature };
}
