import { caseFold } from '@tessera/addresses';
import type {
  AccountImport,
  EphemeralKeyImport,
  InviteImport,
  PepperImport,
  SessionImport,
  TermsImport,
} from '@tessera/admin-imports';
import type { Planned, PlanReport } from './plan-report.js';
import type { SydentRows } from './sydent-db.js';

/** A session is usable for 24 h after its last change (Sydent's validators and binds agree). */
export const SESSION_LIFETIME_MS = 24 * 3_600_000;
const SECOND_MS = 1000;

export const RECORD_REASONS = {
  noPepper: 'no pepper in hashing_metadata (Sydent never started on this database): Tessera keeps its own',
  inviteMedium: 'medium is not email (Sydent stores no other)',
  tokenWithoutAccount: 'a token of a user with no account row (Sydent refused it already)',
  sessionExpired: 'expired: its last change is 24 h or more before --now',
  sessionWithoutToken: 'no token row (nothing to submit)',
  sessionMedium: 'medium is neither email nor msisdn',
} as const;

export const RECORD_NOTES = {
  pendingInvite: 'invites pending: delivered by onbind on the next binding of the address',
  attemptedInvite: 'invites Sydent already attempted: stored claimed, never delivered again, sign-ed25519 answers',
  unfoldedInvite: 'invite address not case-folded (from before Sydent 2.4): the invite service folds it',
  noReceivedTs: 'invite without received_ts: given its sent_ts, else --now',
  accountsWithoutTokens: 'accounts with no token left (every session logged out): nothing to carry over',
} as const;

type Context = { now: number; report: PlanReport };

/** The lookup pepper, when Sydent made one. */
export function planPepper(rows: Pick<SydentRows, 'pepper'>, { report }: Context): Planned<PepperImport> | undefined {
  const pepper = rows.pepper();
  if (pepper === null) {
    report.leftOut.pepper.add(RECORD_REASONS.noPepper, 'hashing_metadata 0');
    return undefined;
  }
  report.planned.pepper++;
  return { label: 'hashing_metadata 0', item: { pepper } };
}

/** Every invite row, pending or attempted; Sydent's seconds become milliseconds. */
export function* planInvites(
  rows: Pick<SydentRows, 'invites'>,
  { now, report }: Context,
): Generator<Planned<InviteImport>> {
  for (const row of rows.invites()) {
    const label = `invite_tokens ${row.id}`;
    if (row.medium !== 'email') {
      report.leftOut.invites.add(RECORD_REASONS.inviteMedium, label);
      continue;
    }
    if (caseFold(row.address) !== row.address) report.notes.add(RECORD_NOTES.unfoldedInvite, `${label} ${row.address}`);
    if (row.receivedTs === null) report.notes.add(RECORD_NOTES.noReceivedTs, label);
    report.notes.add(row.sentTs === null ? RECORD_NOTES.pendingInvite : RECORD_NOTES.attemptedInvite, label);
    report.planned.invites++;
    yield {
      label,
      item: {
        token: row.token,
        medium: 'email',
        address: row.address,
        roomId: row.roomId,
        sender: row.sender,
        receivedTs:
          row.receivedTs === null ? (row.sentTs === null ? now : row.sentTs * SECOND_MS) : row.receivedTs * SECOND_MS,
        sentTs: row.sentTs === null ? null : row.sentTs * SECOND_MS,
      },
    };
  }
}

/** Every ephemeral public key, as stored (URL-safe base64): the room state still names them. */
export function* planEphemeralKeys(
  rows: Pick<SydentRows, 'ephemeralKeys'>,
  { report }: Context,
): Generator<Planned<EphemeralKeyImport>> {
  for (const row of rows.ephemeralKeys()) {
    report.planned.ephemeralKeys++;
    yield { label: `ephemeral_public_keys ${row.id}`, item: { publicKey: row.publicKey } };
  }
}

/** One item per token, joined to its account. */
export function* planAccounts(
  rows: Pick<SydentRows, 'accountTokens' | 'accountsWithoutTokens'>,
  { report }: Context,
): Generator<Planned<AccountImport>> {
  for (const row of rows.accountTokens()) {
    const label = `a token of ${row.userId}`;
    if (row.createdTs === null) {
      report.leftOut.accounts.add(RECORD_REASONS.tokenWithoutAccount, label);
      continue;
    }
    report.planned.accounts++;
    yield { label, item: { token: row.token, userId: row.userId, createdTs: row.createdTs } };
  }
  const idle = rows.accountsWithoutTokens();
  if (idle > 0) report.notes.add(RECORD_NOTES.accountsWithoutTokens, `${idle} accounts`, idle);
}

/** Every user's accepted policy URLs, one item per user. */
export function* planTerms(
  rows: Pick<SydentRows, 'acceptedTerms'>,
  { report }: Context,
): Generator<Planned<TermsImport>> {
  let current: TermsImport | undefined;
  const emit = (terms: TermsImport): Planned<TermsImport> => {
    report.planned.terms++;
    return { label: terms.userId, item: terms };
  };
  for (const row of rows.acceptedTerms()) {
    if (current?.userId !== row.userId) {
      if (current !== undefined) yield emit(current);
      current = { userId: row.userId, urls: [] };
    }
    current.urls.push(row.url);
  }
  if (current !== undefined) yield emit(current);
}

/** Sessions still usable at `now` (changed less than 24 h before); the rest are counted and dropped. */
export function* planSessions(
  rows: Pick<SydentRows, 'sessions'>,
  { now, report }: Context,
): Generator<Planned<SessionImport>> {
  for (const row of rows.sessions()) {
    const label = `sid ${row.sid}`;
    if (row.mtime + SESSION_LIFETIME_MS <= now) report.leftOut.sessions.add(RECORD_REASONS.sessionExpired, label);
    else if (row.medium !== 'email' && row.medium !== 'msisdn')
      report.leftOut.sessions.add(RECORD_REASONS.sessionMedium, label);
    else if (row.token === null) report.leftOut.sessions.add(RECORD_REASONS.sessionWithoutToken, label);
    else {
      report.planned.sessions++;
      yield {
        label,
        item: {
          sid: String(row.sid),
          medium: row.medium,
          address: row.address,
          clientSecret: row.clientSecret,
          token: row.token,
          validated: row.validated,
          mtime: row.mtime,
        },
      };
    }
  }
}
