// What the invite service appends for an onbind call, written the way it writes it (OnbindCall
// protobuf-encoded and sealed with `onbind.<onbind_id>`), for this service's tests. Not used by
// the service itself.
import { randomBytes, randomUUID } from 'node:crypto';
import { type DataKeys, type EventStore, newEvent, subjectOf } from '@tessera/event-store';
import { OnbindCall } from '@tessera/proto/tessera/events/v1/invite';
import { INVITE_SEALED_FIELDS, onbindDataKey } from '@tessera/spec-params';

export type RequestedOnbind = { onbindId: string; body: OnbindBody };

/** The shape of the body the invite service sends: the signed association with its signed invites. */
export type OnbindBody = Record<string, unknown> & { mxid: string; address: string };

let counter = 0;

/** A body as the invite service builds it, with one invite, for `mxid` (whose server is the destination). */
export function onbindBody(mxid: string): OnbindBody {
  const n = ++counter;
  const address = `invitee${n}@example.org`;
  const token = `InviteToken${n}x${randomBytes(6).toString('hex')}`;
  const signatures = { 'id.example.org': { 'ed25519:0': 'c2lnbmF0dXJl' } };
  return {
    medium: 'email',
    address,
    mxid,
    ts: 1_800_000_000_000,
    not_before: 1_800_000_000_000,
    not_after: 4_953_600_000_000,
    invites: [
      {
        medium: 'email',
        address,
        mxid,
        room_id: '!room:example.org',
        sender: '@inviter:example.org',
        token,
        signed: { mxid, token, signatures },
      },
    ],
    signatures,
  };
}

/** Appends OnbindRequested to `tessera.onbind.<onbind_id>` with its call sealed. */
export async function requestOnbind(
  { store, dataKeys }: { store: EventStore; dataKeys: DataKeys },
  options: { destination: string; body: OnbindBody; giveUpAt: Date },
): Promise<RequestedOnbind> {
  const onbindId = `bind${process.pid}x${++counter}x${randomBytes(3).toString('hex')}`;
  const bytes = OnbindCall.encode({
    destination: options.destination,
    bodyJson: JSON.stringify(options.body),
  }).finish();
  const call = await dataKeys.sealField(onbindDataKey(onbindId), INVITE_SEALED_FIELDS.call, bytes);
  const requested = newEvent(
    {
      $case: 'onbindRequested',
      value: {
        onbindId,
        addrKey: `hmac-of-${onbindId}`,
        bindingId: onbindId,
        inviteIds: [`invite-of-${onbindId}`],
        call,
        giveUpAt: options.giveUpAt,
      },
    },
    new Date(),
  );
  await store.append(subjectOf('onbind', onbindId), [requested], {
    expectedSeq: 0,
    correlationId: `req-${randomUUID()}`,
  });
  return { onbindId, body: options.body };
}
