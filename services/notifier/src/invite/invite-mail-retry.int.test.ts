import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataKeys, openDataKeySource } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { INVITE_SEALED_FIELDS, inviteMailDataKey } from '@tessera/spec-params';
import { pollUntil } from '@tessera/test-harness';
import { type StoredInvite, storeInvite } from '../../test-support/invite-fixture.js';
import { type InviteMailBed, startInviteMailBed } from '../../test-support/invite-mail-bed.js';

// The mail server turning an invite mail away, for now (451) or for good (550), and an invite
// whose mail cannot be rendered, on a real nats-server and SMTP listener. A short lease keeps the
// retries (a lease apart at first) quick.
describe('an invite mail that cannot go out now, or at all', () => {
  let bed: InviteMailBed;
  // Recipients the SMTP listener answers 451 (try later) while they are in here, and how often it did.
  const deferred = new Set<string>();
  const deferrals = new Map<string, number>();

  const invite = (options: Parameters<typeof storeInvite>[1]) => storeInvite(bed, options);
  const probes = () => bed.probes;
  const mailKeyOpens = async ({ inviteId, stored }: StoredInvite) => {
    assert.ok(stored.payload?.$case === 'inviteStored' && stored.payload.value.mail);
    // A process that never saw the key: no cache can answer for the bucket.
    const fresh = new DataKeys(await openDataKeySource(bed.nc));
    const opened = await fresh.openField(
      inviteMailDataKey(inviteId),
      INVITE_SEALED_FIELDS.mail,
      stored.payload.value.mail,
    );
    return opened !== null;
  };
  const attemptsOf = (events: Event[]) =>
    events.flatMap((event) => (event.payload?.$case === 'deliveryStarted' ? [event.payload.value.attempt] : []));
  const retriesLogged = (inviteId: string) =>
    bed.logLines.filter((line) => line.msg === 'invite mail not sent; will retry' && line.deliveryId === inviteId)
      .length;

  before(async () => {
    bed = await startInviteMailBed({
      smtp: {
        rejectRecipient: (address) => address.endsWith('@bounce.test'),
        deferRecipient: (address) => {
          if (!deferred.has(address)) return false;
          deferrals.set(address, (deferrals.get(address) ?? 0) + 1);
          return true;
        },
      },
      env: { TESSERA_DELIVERY_LEASE_MS: '1000' },
    });
  });
  after(() => bed?.close());

  it('records nothing and keeps the mail key after a temporary failure, then mails the invite once on a later attempt', async () => {
    const address = 'later@example.org';
    deferred.add(address);
    const later = await invite({ address });
    await pollUntil('the mail server turned the invite mail away', () =>
      retriesLogged(later.inviteId) > 0 ? true : undefined,
    );
    // Turned away, and not yet let through: no outcome, the key still opens.
    const meanwhile = await probes().deliveryEvents(later.inviteId);
    assert.ok(
      meanwhile.every((event) => event.type === 'DeliveryStarted'),
      'no outcome is recorded',
    );
    assert.equal(await mailKeyOpens(later), true, 'the mail key lives until the outcome');
    assert.equal(bed.mailsTo(address).length, 0);

    deferred.delete(address);
    await bed.smtp.waitForMessage((mail) => mail.to.includes(address), 30_000);
    const events = await probes().outcomeOf(later.inviteId);
    assert.equal(events.at(-1)?.type, 'TokenSent');
    assert.ok(
      events.slice(0, -1).every((event) => event.type === 'DeliveryStarted'),
      'nothing but attempts before the outcome',
    );
    const attempts = attemptsOf(events);
    assert.ok(attempts.length >= 2, 'the mail went out on a later attempt, which took the delivery over');
    assert.deepEqual(
      attempts,
      attempts.map((_, index) => index + 1),
    );
    assert.ok((deferrals.get(address) ?? 0) >= 1);
    await pollUntil('the mail key is erased', async () => ((await mailKeyOpens(later)) ? undefined : true));
    await probes().consumerIdle();
    assert.equal(bed.mailsTo(address).length, 1, 'one mail');
  });

  it('mails other invites while more mails than TESSERA_NOTIFIER_CONCURRENCY wait for their next try', async () => {
    const waiting = [
      'wait1@example.org',
      'wait2@example.org',
      'wait3@example.org',
      'wait4@example.org',
      'wait5@example.org',
    ];
    for (const address of waiting) deferred.add(address);
    const stored = await Promise.all(waiting.map((address) => invite({ address })));
    await pollUntil('every mail was turned away once', () =>
      stored.every(({ inviteId }) => retriesLogged(inviteId) > 0) ? true : undefined,
    );
    const other = await invite({ address: 'meanwhile@example.org' });
    await bed.smtp.waitForMessage((mail) => mail.to.includes(other.address), 20_000);
    for (const address of waiting) deferred.delete(address);
    for (const { inviteId } of stored) assert.equal((await probes().outcomeOf(inviteId)).at(-1)?.type, 'TokenSent');
  });

  it('gives a mail that keeps failing up once the invite expires, and erases its key', async () => {
    const address = 'never@example.org';
    deferred.add(address);
    const expiring = await invite({ address, expiresAt: new Date(Date.now() + 3_000) });
    const events = await probes().outcomeOf(expiring.inviteId);
    const failed = events.at(-1);
    assert.ok(failed?.payload?.$case === 'tokenSendFailed');
    assert.equal(failed.payload.value.reason, 'the invite expired');
    assert.equal(failed.payload.value.refused, true);
    assert.ok((deferrals.get(address) ?? 0) >= 1, 'the mail was tried before the invite expired');
    assert.equal(await mailKeyOpens(expiring), false);
    assert.equal(bed.mailsTo(address).length, 0);
  });

  it('gives up an invite whose room ID holds a line break (it cannot be rendered), and mails the next one', async () => {
    const poisoned = await invite({ address: 'poisoned@example.org', roomId: '!room:example.org\nBcc: eve@evil.test' });
    const events = await probes().outcomeOf(poisoned.inviteId);
    assert.deepEqual(
      events.map((event) => event.type),
      ['DeliveryStarted', 'TokenSendFailed'],
    );
    const failed = events.at(-1);
    assert.ok(failed?.payload?.$case === 'tokenSendFailed');
    assert.deepEqual(failed.payload.value, {
      deliveryId: poisoned.inviteId,
      reason: 'the mail template failed to render',
      refused: true,
    });
    await pollUntil('the mail key is erased', async () => ((await mailKeyOpens(poisoned)) ? undefined : true));
    const next = await invite({ address: 'next@example.org' });
    await bed.smtp.waitForMessage((mail) => mail.to.includes(next.address), 10_000);
    // Acked, not redelivered: nothing is left pending on the consumer.
    await probes().consumerIdle();
    assert.equal(bed.mailsTo('poisoned@example.org').length, 0);
    assert.deepEqual(await probes().deliveryEvents(poisoned.inviteId), events);
  });

  it('records a refusal (550) at once as failed, and erases the mail key', async () => {
    const refused = await invite({ address: 'gone@bounce.test' });
    const events = await probes().outcomeOf(refused.inviteId);
    assert.deepEqual(
      events.map((event) => event.type),
      ['DeliveryStarted', 'TokenSendFailed'],
    );
    const failed = events.at(-1);
    assert.ok(failed?.payload?.$case === 'tokenSendFailed');
    assert.equal(failed.payload.value.refused, true);
    assert.match(failed.payload.value.reason, /550/);
    await pollUntil('the mail key is erased', async () => ((await mailKeyOpens(refused)) ? undefined : true));
  });
});
