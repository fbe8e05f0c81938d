// One stored invite (`tessera.invite.<inviteId>`): pending until an onbind call claims it for the
// address's new binding, or an operator revokes it. Pure: the sealed fields, the ids and the time
// come in the command; expiry is compared with the command's clock, never stored as a status.
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
  /** InviteMail under inviteMailDataKey. */
  mail: Sealed;
  brand: string;
  expiresAt: Date;
};

export type InviteEvent =
  | { type: 'InviteStored'; data: StoredInvite & { at: Date } }
  | { type: 'InviteClaimed'; data: { inviteId: string; onbindId: string; at: Date } }
  | { type: 'InviteRevoked'; data: { inviteId: string; at: Date } };

export type InviteCommand =
  | { type: 'StoreInvite'; invite: StoredInvite; now: Date }
  | { type: 'ClaimInvite'; inviteId: string; onbindId: string; now: Date }
  | { type: 'RevokeInvite'; inviteId: string; now: Date };

export type Invite =
  | { status: 'none' }
  | {
      status: 'pending' | 'claimed' | 'revoked';
      addrKey: string;
      secrets: Sealed;
      expiresAt: Date;
      /** The onbind call that claimed it; null while pending (and when revoked before a claim). */
      onbindId: string | null;
    };

export const initial = (): Invite => ({ status: 'none' });

export function evolve(state: Invite, event: InviteEvent): Invite {
  switch (event.type) {
    case 'InviteStored': {
      const { addrKey, secrets, expiresAt } = event.data;
      return { status: 'pending', addrKey, secrets, expiresAt, onbindId: null };
    }
    case 'InviteClaimed':
      return state.status === 'none' ? state : { ...state, status: 'claimed', onbindId: event.data.onbindId };
    case 'InviteRevoked':
      return state.status === 'none' ? state : { ...state, status: 'revoked' };
  }
}

export function decide(command: InviteCommand, state: Invite): InviteEvent[] {
  const at = command.now;
  switch (command.type) {
    case 'StoreInvite':
      // The id is the digest of 190 random bits: a taken one means a bug, never a second invite.
      if (state.status !== 'none') throw new Error('an invite with this id is stored already');
      return [{ type: 'InviteStored', data: { ...command.invite, at } }];
    case 'ClaimInvite':
      // Claimed by this call already (a redelivery after a crash): nothing more to record. Claimed
      // by another call, revoked or expired: not this call's to deliver.
      if (state.status !== 'pending' || state.expiresAt.getTime() <= at.getTime()) return [];
      return [{ type: 'InviteClaimed', data: { inviteId: command.inviteId, onbindId: command.onbindId, at } }];
    case 'RevokeInvite':
      if (state.status !== 'pending' && state.status !== 'claimed') return [];
      return [{ type: 'InviteRevoked', data: { inviteId: command.inviteId, at } }];
  }
}

export const inviteDecider: Decider<InviteCommand, InviteEvent, Invite> = { decide, evolve, initial };

/** Whether the invite is carried by the onbind call `onbindId` (claimed by it, and not revoked since). */
export const isClaimedBy = (state: Invite, onbindId: string): boolean =>
  state.status === 'claimed' && state.onbindId === onbindId;
