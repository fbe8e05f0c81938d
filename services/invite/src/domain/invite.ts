// One stored invite (`tessera.invite.<inviteId>`): pending until an onbind call claims it for the
// address's new binding, or an operator revokes it. Pure: the sealed fields, the ids and the time
// come in the command; expiry is compared with the command's clock, never stored as a status.
// An invite imported from Sydent is stored as it was there: pending, or claimed by no call when
// Sydent had already attempted it (never delivered again, sign-ed25519 still answers for it).
import type { Decider } from '@tessera/event-store';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type { Medium } from '@tessera/spec-params';

/** What InviteStored records: nothing in clear names the address, the sender or the token. */
export type StoredInvite = {
  inviteId: string;
  medium: Medium;
  addrKey: string;
  senderKey: string;
  /** Unpadded URL-safe base64, as store-invite answers it. */
  ephemeralPublicKey: string;
  /** InviteSecrets under inviteDataKey. */
  secrets: Sealed;
  /** InviteMail under inviteMailDataKey; null for an imported invite (mailed by the server it came from). */
  mail: Sealed | null;
  brand: string;
  expiresAt: Date;
  /** The long-term key store-invite answered with; onbind signs the invite's `signed` with it. */
  longTermKeyId: string;
  /** Imported from another server (Sydent): no mail, no ephemeral key of its own. */
  imported: boolean;
};

/** What the onbind id of an InviteClaimed is when the server it was imported from had attempted it. */
export const CLAIMED_BEFORE_IMPORT = '';

export type InviteEvent =
  | { type: 'InviteStored'; data: StoredInvite & { at: Date } }
  | { type: 'InviteClaimed'; data: { inviteId: string; onbindId: string; at: Date } }
  | { type: 'InviteRevoked'; data: { inviteId: string; at: Date } };

export type InviteCommand =
  | { type: 'StoreInvite'; invite: Omit<StoredInvite, 'mail' | 'imported'> & { mail: Sealed }; now: Date }
  | ImportInviteCommand
  | { type: 'ClaimInvite'; inviteId: string; onbindId: string; now: Date }
  | { type: 'RevokeInvite'; inviteId: string; now: Date };

/**
 * An invite from another server, stored with its own time (`receivedAt`), and claimed at
 * `attemptedAt` when that server had attempted its delivery already. Importing it again changes nothing.
 */
export type ImportInviteCommand = {
  type: 'ImportInvite';
  invite: Omit<StoredInvite, 'mail' | 'imported'>;
  receivedAt: Date;
  attemptedAt: Date | null;
};

export type Invite =
  | { status: 'none' }
  | {
      status: 'pending' | 'claimed' | 'revoked';
      addrKey: string;
      secrets: Sealed;
      expiresAt: Date;
      longTermKeyId: string;
      /**
       * The onbind call that claimed it; null while pending (and when revoked before a claim), and
       * for an invite claimed before it was imported (no call of ours carries it).
       */
      onbindId: string | null;
    };

export const initial = (): Invite => ({ status: 'none' });

export function evolve(state: Invite, event: InviteEvent): Invite {
  switch (event.type) {
    case 'InviteStored': {
      const { addrKey, secrets, expiresAt, longTermKeyId } = event.data;
      return { status: 'pending', addrKey, secrets, expiresAt, longTermKeyId, onbindId: null };
    }
    case 'InviteClaimed': {
      if (state.status === 'none') return state;
      const { onbindId } = event.data;
      return { ...state, status: 'claimed', onbindId: onbindId === CLAIMED_BEFORE_IMPORT ? null : onbindId };
    }
    case 'InviteRevoked':
      return state.status === 'none' ? state : { ...state, status: 'revoked' };
  }
}

export function decide(command: InviteCommand, state: Invite): InviteEvent[] {
  switch (command.type) {
    case 'StoreInvite':
      // The id is the digest of 190 random bits: a taken one means a bug, never a second invite.
      if (state.status !== 'none') throw new Error('an invite with this id is stored already');
      return [{ type: 'InviteStored', data: { ...command.invite, imported: false, at: command.now } }];
    case 'ImportInvite':
      // Its id is the digest of its token: stored already means imported already.
      return state.status === 'none' ? importedEvents(command) : [];
    case 'ClaimInvite':
      // Marks an invite that the call `onbindId` carries (its OnbindRequested is stored first).
      // Claimed already (a redelivery after a crash), or revoked meanwhile: nothing to record.
      if (state.status !== 'pending') return [];
      return [
        { type: 'InviteClaimed', data: { inviteId: command.inviteId, onbindId: command.onbindId, at: command.now } },
      ];
    case 'RevokeInvite':
      // Only a pending invite: one handed to an onbind call is in its signed body, which the
      // homeserver gets whatever is recorded here.
      if (state.status !== 'pending') return [];
      return [{ type: 'InviteRevoked', data: { inviteId: command.inviteId, at: command.now } }];
  }
}

function importedEvents({ invite, receivedAt, attemptedAt }: ImportInviteCommand): InviteEvent[] {
  const stored: InviteEvent = { type: 'InviteStored', data: { ...invite, mail: null, imported: true, at: receivedAt } };
  if (attemptedAt === null) return [stored];
  const claimed: InviteEvent = {
    type: 'InviteClaimed',
    data: { inviteId: invite.inviteId, onbindId: CLAIMED_BEFORE_IMPORT, at: attemptedAt },
  };
  return [stored, claimed];
}

export const inviteDecider: Decider<InviteCommand, InviteEvent, Invite> = { decide, evolve, initial };

/**
 * Whether an onbind call `onbindId` being assembled may carry the invite: pending and unexpired, or
 * claimed by that call already.
 */
export const isCarriable = (state: Invite, onbindId: string, now: Date): boolean =>
  (state.status === 'pending' && state.expiresAt.getTime() > now.getTime()) ||
  (state.status === 'claimed' && state.onbindId === onbindId);
