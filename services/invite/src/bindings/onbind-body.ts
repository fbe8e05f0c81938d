// The onbind call's body (NOTES.md §5.6), as Sydent sends it: the new binding's signed fields with
// the invites it carries, each with `signed: {mxid, token}` under the long-term key, and the whole
// body signed again. Pure: signing happens around it.

/** The fields of the new binding's signed association that the body repeats. */
export type BoundAssociation = {
  medium: string;
  address: string;
  mxid: string;
  ts: number;
  not_before: number;
  not_after: number;
};

export type CarriedInvite = {
  inviteId: string;
  address: string;
  roomId: string;
  sender: string;
  token: string;
  /** The long-term key the invite was answered with (its room's third-party invite names it). */
  keyId: string;
};

/** What the long-term key signs for each invite, in the invites' order. */
export const inviteProofs = (mxid: string, invites: readonly CarriedInvite[]) =>
  invites.map(({ token }) => ({ mxid, token }));

/** The body before its own signature; `signedProofs` are inviteProofs as signing answered them. */
export function onbindBody(
  association: BoundAssociation,
  invites: readonly CarriedInvite[],
  signedProofs: readonly unknown[],
): Record<string, unknown> {
  const { medium, address, mxid, ts, not_before, not_after } = association;
  return {
    medium,
    address,
    mxid,
    ts,
    not_before,
    not_after,
    invites: invites.map((invite, i) => ({
      medium,
      address: invite.address,
      mxid,
      room_id: invite.roomId,
      sender: invite.sender,
      token: invite.token,
      signed: signedProofs[i],
    })),
  };
}
