import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nativeInvite } from '../../test-support/native-invite.js';
import type { InviteEvent, StoredInvite } from '../domain/invite.js';
import { inviteCodec } from './invite-events.js';

const AT = new Date('2026-12-02T04:37:43Z');
const invite = (more: Partial<StoredInvite>): StoredInvite => ({
  ...nativeInvite('invite-id', new Date('2027-01-01T00:00:00Z')),
  imported: false,
  ...more,
});
const roundTrip = (event: InviteEvent) => inviteCodec.fromStoredEvents([inviteCodec.toStoredEvent(event)]);

describe('the invite events on the wire', () => {
  it('carry an imported invite without mail and without ephemeral key, and read it back so', () => {
    const stored: InviteEvent = {
      type: 'InviteStored',
      data: { ...invite({ mail: null, imported: true, ephemeralPublicKey: '' }), at: AT },
    };
    const wire = inviteCodec.toStoredEvent(stored);
    assert.ok(wire.payload?.$case === 'inviteStored');
    assert.equal(wire.payload.value.imported, true);
    assert.equal(wire.payload.value.mail, undefined);
    assert.equal(wire.occurredAt?.getTime(), AT.getTime());
    assert.deepEqual(roundTrip(stored), [stored]);
  });

  it('carry a native invite with its mail, imported false', () => {
    const stored: InviteEvent = { type: 'InviteStored', data: { ...invite({}), at: AT } };
    const wire = inviteCodec.toStoredEvent(stored);
    assert.ok(wire.payload?.$case === 'inviteStored');
    assert.equal(wire.payload.value.imported, false);
    assert.deepEqual(roundTrip(stored), [stored]);
  });

  it('skip a native InviteStored without mail: only an imported one may lack it', () => {
    const wire = inviteCodec.toStoredEvent({ type: 'InviteStored', data: { ...invite({}), at: AT } });
    assert.ok(wire.payload?.$case === 'inviteStored');
    const withoutMail = { ...wire.payload.value, mail: undefined };
    assert.deepEqual(
      inviteCodec.fromStoredEvents([{ ...wire, payload: { $case: 'inviteStored', value: withoutMail } }]),
      [],
    );
  });

  it('carry the empty onbind id of an invite claimed before its import', () => {
    const claimed: InviteEvent = { type: 'InviteClaimed', data: { inviteId: 'invite-id', onbindId: '', at: AT } };
    assert.deepEqual(roundTrip(claimed), [claimed]);
  });
});
