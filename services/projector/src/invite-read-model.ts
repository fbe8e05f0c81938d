import type { InviteStatus } from '@tessera/db';

/** An invite row as the projection reads and writes it. */
export type InviteRow = {
  inviteId: string;
  medium: 'email' | 'msisdn';
  addrKey: string;
  senderKey: string;
  ephemeralPublicKey: string;
  status: InviteStatus;
  onbindId: string | null;
  storedAt: Date;
  expiresAt: Date;
  storedSeq: number;
};

/** An onbind row as the projection reads and writes it. */
export type OnbindRow = {
  onbindId: string;
  addrKey: string;
  status: 'requested' | 'delivered' | 'abandoned';
  attempts: number;
  requestedAt: Date;
  giveUpAt: Date;
  requestedSeq: number;
};

/** What one invite or onbind event does to the read model. */
export type InviteStep =
  | { kind: 'stored'; row: InviteRow }
  /** `onbindId` null: claimed before it was imported (the server it came from had attempted it). */
  | { kind: 'claimed'; inviteId: string; onbindId: string | null }
  | { kind: 'revoked'; inviteId: string }
  | { kind: 'requested'; row: OnbindRow; inviteIds: readonly string[] }
  | { kind: 'attemptStarted'; onbindId: string; attempt: number }
  | { kind: 'ended'; onbindId: string; outcome: 'delivered' | 'abandoned' }
  /** Ephemeral keys imported from another server: a table of their own, no invite row (projectInvites). */
  | { kind: 'keysImported'; publicKeys: readonly string[]; seq: number };

/** The rows a batch of steps may read or change: what the projection loads before applying them. */
export function rowsTouchedBy(steps: readonly InviteStep[]): {
  inviteIds: string[];
  /** Onbind calls whose invites an outcome changes (their invites are loaded by `onbind_id`). */
  endedOnbindIds: string[];
  onbindIds: string[];
} {
  const inviteIds = new Set<string>();
  const onbindIds = new Set<string>();
  const endedOnbindIds = new Set<string>();
  for (const step of steps)
    switch (step.kind) {
      case 'stored':
        inviteIds.add(step.row.inviteId);
        break;
      case 'claimed':
      case 'revoked':
        inviteIds.add(step.inviteId);
        break;
      case 'requested':
        onbindIds.add(step.row.onbindId);
        for (const inviteId of step.inviteIds) inviteIds.add(inviteId);
        break;
      case 'attemptStarted':
        onbindIds.add(step.onbindId);
        break;
      case 'ended':
        onbindIds.add(step.onbindId);
        endedOnbindIds.add(step.onbindId);
        break;
      case 'keysImported':
        break;
    }
  return { inviteIds: [...inviteIds], endedOnbindIds: [...endedOnbindIds], onbindIds: [...onbindIds] };
}

/**
 * Applies steps, in stream order, to the rows they touch (`invites` and `onbinds` hold every such
 * row that exists, as `rowsTouchedBy` says, and are changed in place); answers the rows that
 * changed, to be written. The rules, one place for each:
 * - an invite is stored once (a second InviteStored for its id changes nothing) and starts `pending`;
 * - a claim (InviteClaimed, or OnbindRequested naming it) takes only a `pending` invite: a repeat,
 *   or a claim of an invite already claimed, revoked or done, changes nothing; an imported invite
 *   claimed before its import is `claimed` by no call (`onbind_id` null), and stays so;
 * - a revocation makes any stored invite `revoked`, for good;
 * - an onbind call is requested once, with no attempts; `attempts` is the highest attempt started;
 * - its outcome (delivered or abandoned) ends a call still `requested`, and moves the invites it
 *   claimed that are still `claimed` to the same status (a revoked one stays revoked).
 *
 * The result depends only on the rows and the steps in order, never on how the stream was cut
 * into batches: a rebuild writes the same rows.
 */
export function applyInviteSteps(
  steps: readonly InviteStep[],
  invites: Map<string, InviteRow>,
  onbinds: Map<string, OnbindRow>,
): { invites: InviteRow[]; onbinds: OnbindRow[] } {
  const changedInvites = new Set<InviteRow>();
  const changedOnbinds = new Set<OnbindRow>();
  const claimedBy = new Map<string, Set<InviteRow>>();
  const noteClaim = (row: InviteRow) => {
    if (row.onbindId === null || row.status !== 'claimed') return;
    const rows = claimedBy.get(row.onbindId) ?? new Set();
    rows.add(row);
    claimedBy.set(row.onbindId, rows);
  };
  for (const row of invites.values()) noteClaim(row);

  const claim = (inviteId: string, onbindId: string | null) => {
    const row = invites.get(inviteId);
    if (row?.status !== 'pending') return;
    row.status = 'claimed';
    row.onbindId = onbindId;
    noteClaim(row);
    changedInvites.add(row);
  };

  for (const step of steps)
    switch (step.kind) {
      case 'stored': {
        if (invites.has(step.row.inviteId)) break;
        const row = { ...step.row, status: 'pending' as const, onbindId: null };
        invites.set(row.inviteId, row);
        changedInvites.add(row);
        break;
      }
      case 'claimed':
        claim(step.inviteId, step.onbindId);
        break;
      case 'revoked': {
        const row = invites.get(step.inviteId);
        if (row === undefined || row.status === 'revoked') break;
        row.status = 'revoked';
        changedInvites.add(row);
        break;
      }
      case 'requested': {
        if (!onbinds.has(step.row.onbindId)) {
          const row = { ...step.row, status: 'requested' as const, attempts: 0 };
          onbinds.set(row.onbindId, row);
          changedOnbinds.add(row);
        }
        for (const inviteId of step.inviteIds) claim(inviteId, step.row.onbindId);
        break;
      }
      case 'attemptStarted': {
        const row = onbinds.get(step.onbindId);
        if (row === undefined || step.attempt <= row.attempts) break;
        row.attempts = step.attempt;
        changedOnbinds.add(row);
        break;
      }
      case 'ended': {
        const row = onbinds.get(step.onbindId);
        if (row?.status === 'requested') {
          row.status = step.outcome;
          changedOnbinds.add(row);
        }
        for (const invite of claimedBy.get(step.onbindId) ?? []) {
          if (invite.status !== 'claimed' || invite.onbindId !== step.onbindId) continue;
          invite.status = step.outcome;
          changedInvites.add(invite);
        }
        claimedBy.delete(step.onbindId);
        break;
      }
      case 'keysImported':
        break;
    }
  return { invites: [...changedInvites], onbinds: [...changedOnbinds] };
}
