import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataKeys, openDataKeySource } from '@tessera/event-store';
import type { InviteStored } from '@tessera/proto/tessera/events/v1/invite';
import { INVITE_SEALED_FIELDS, inviteDataKey, inviteMailDataKey } from '@tessera/spec-params';
import { pollUntil } from '@tessera/test-harness';
import { appendToInvite, revokeInvite, type StoredInvite, storeInvite } from '../../test-support/invite-fixture.js';
import {
  INVITE_MAIL_BASE_URL as BASE_URL,
  type InviteMailBed,
  startInviteMailBed,
} from '../../test-support/invite-mail-bed.js';

describe('the invite mail on a real nats-server and SMTP listener', () => {
  let bed: InviteMailBed;
  const invites: StoredInvite[] = [];
  const invite = async (options: Parameters<typeof storeInvite>[1]) => {
    const stored = await storeInvite(bed, options);
    invites.push(stored);
    return stored;
  };
  // A process that never saw the key: no cache can answer for the bucket.
  const freshlyOpened = async (aggregate: string, field: string, sealed: InviteStored['mail']) => {
    assert.ok(sealed);
    return new DataKeys(await openDataKeySource(bed.nc)).openField(aggregate, field, sealed);
  };
  const storedOf = (invite: StoredInvite): InviteStored => {
    assert.ok(invite.stored.payload?.$case === 'inviteStored');
    return invite.stored.payload.value;
  };
  const deliveryEvents = (deliveryId: string) => bed.probes.deliveryEvents(deliveryId);
  const outcomeOf = (deliveryId: string) => bed.probes.outcomeOf(deliveryId);
  const consumerIdle = () => bed.probes.consumerIdle();

  before(async () => {
    bed = await startInviteMailBed();
  });
  after(() => bed?.close());

  it('mails a stored invite once, with the token, the ephemeral key and the request fields, and records TokenSent', async () => {
    const stored = await invite({
      address: 'Bob@example.org',
      fields: {
        room_name: 'Project X',
        sender_display_name: 'Alice',
        room_type: 'm.space',
        room_alias: null,
        'org.matrix.web_client_location': 'https://element.example.com',
      },
    });
    // To the address as given, lower-cased (where validation mail for it goes).
    const mail = await bed.smtp.waitForMessage((m) => m.to.includes('bob@example.org'), 10_000);
    assert.equal(mail.from, 'noreply@id.example.org');
    assert.equal(mail.parsed.subject, 'Alice has invited you to a space');
    const text = mail.parsed.text ?? '';
    assert.ok(text.includes('Alice invited you to a Matrix space: Project X.'), text);
    const link = new URL(/https:\/\/element\.example\.com\/\S+/.exec(text)?.[0] ?? '');
    const fragment = new URL(link.hash.slice(1), 'https://fragment.invalid');
    assert.equal(decodeURIComponent(fragment.pathname), `/room/${stored.roomId}`);
    assert.equal(fragment.searchParams.get('email'), 'bob@example.org');
    assert.equal(fragment.searchParams.get('room_type'), 'm.space');
    const signUrl = new URL(fragment.searchParams.get('signurl') ?? '');
    assert.equal(signUrl.origin + signUrl.pathname, `${BASE_URL}/_matrix/identity/api/v1/sign-ed25519`);
    assert.equal(signUrl.searchParams.get('token'), stored.token);
    assert.equal(signUrl.searchParams.get('private_key'), stored.ephemeralPrivateKey);

    const events = await outcomeOf(stored.inviteId);
    assert.deepEqual(
      events.map((event) => event.type),
      ['DeliveryStarted', 'TokenSent'],
    );
    const [started, sent] = events;
    assert.ok(started?.payload?.$case === 'deliveryStarted');
    assert.equal(started.payload.value.source, `invite.${stored.inviteId}`);
    assert.equal(started.payload.value.deliveryId, stored.inviteId);
    assert.ok(sent?.payload?.$case === 'tokenSent');
    assert.equal(sent.payload.value.providerMessageId, mail.parsed.messageId);
  });

  it('names the sender as verified only when store-invite checked them against an access token', async () => {
    const verified = await invite({ address: 'verified@example.org', senderVerified: true });
    const unverified = await invite({ address: 'unverified@example.org' });
    const textTo = async (address: string) =>
      (await bed.smtp.waitForMessage((m) => m.to.includes(address), 10_000)).parsed.text ?? '';
    assert.ok((await textTo(verified.address)).includes(`(${verified.sender})`));
    assert.ok(!(await textTo(unverified.address)).includes(`(${unverified.sender})`));
  });

  it('erases the mail key once the mail is out: the sealed private key no longer opens, the invite itself still does', async () => {
    const [first] = invites;
    assert.ok(first);
    const { mail, secrets } = storedOf(first);
    await pollUntil('the mail key is erased', async () =>
      (await freshlyOpened(inviteMailDataKey(first.inviteId), INVITE_SEALED_FIELDS.mail, mail)) === null
        ? true
        : undefined,
    );
    assert.notEqual(
      await freshlyOpened(inviteDataKey(first.inviteId), INVITE_SEALED_FIELDS.secrets, secrets),
      null,
      'the invite key lives until the invite is revoked',
    );
  });

  it('sends nothing more when the InviteStored comes again', async () => {
    const [first] = invites;
    assert.ok(first);
    await consumerIdle();
    const before = await deliveryEvents(first.inviteId);
    await appendToInvite(bed.store, first.inviteId, first.stored);
    await consumerIdle();
    assert.equal(bed.mailsTo(first.address.toLowerCase()).length, 1);
    assert.deepEqual(await deliveryEvents(first.inviteId), before);
    assert.match(
      await bed.metrics.registry.metrics(),
      /tessera_notifier_deliveries_repeated_total\{service="notifier"\} [1-9]/,
    );
  });

  it('does not mail an expired invite, and records it given up', async () => {
    const expired = await invite({ address: 'expired@example.org', expiresAt: new Date(Date.now() - 1_000) });
    const events = await outcomeOf(expired.inviteId);
    const failed = events.at(-1);
    assert.ok(failed?.payload?.$case === 'tokenSendFailed');
    assert.deepEqual(failed.payload.value, {
      deliveryId: expired.inviteId,
      reason: 'the invite expired',
      refused: true,
    });
    await consumerIdle();
    assert.equal(bed.mailsTo('expired@example.org').length, 0);
    const { mail } = storedOf(expired);
    assert.equal(await freshlyOpened(inviteMailDataKey(expired.inviteId), INVITE_SEALED_FIELDS.mail, mail), null);
  });

  it('does not mail an invite revoked before the notifier saw it, even while its keys are not yet erased', async () => {
    await bed.stop();
    const revoked = await invite({ address: 'revoked@example.org' });
    await revokeInvite(bed, revoked.inviteId, { eraseKeys: false });
    await bed.start();
    const events = await outcomeOf(revoked.inviteId);
    const failed = events.at(-1);
    assert.ok(failed?.payload?.$case === 'tokenSendFailed');
    assert.equal(failed.payload.value.reason, 'the invite was revoked');
    await consumerIdle();
    assert.equal(bed.mailsTo('revoked@example.org').length, 0);
  });

  it('sends nothing for an imported invite (Sydent mailed it) and records no delivery', async () => {
    const imported = await invite({ address: 'imported@example.org', imported: true });
    await consumerIdle(); // its InviteStored acknowledged: handled
    assert.equal(bed.mailsTo('imported@example.org').length, 0);
    assert.deepEqual(await deliveryEvents(imported.inviteId), []);
    const { secrets } = storedOf(imported);
    assert.notEqual(
      await freshlyOpened(inviteDataKey(imported.inviteId), INVITE_SEALED_FIELDS.secrets, secrets),
      null,
      'its key stays: sign-ed25519 and onbind need it',
    );
  });

  it('does not mail an invite whose keys are gone', async () => {
    const erased = await invite({ address: 'erased@example.org', eraseSecrets: true });
    const events = await outcomeOf(erased.inviteId);
    const failed = events.at(-1);
    assert.ok(failed?.payload?.$case === 'tokenSendFailed');
    assert.equal(failed.payload.value.reason, 'erased');
    await consumerIdle();
    assert.equal(bed.mailsTo('erased@example.org').length, 0);
  });

  it('counts invite mails apart from validation messages', async () => {
    const text = await bed.metrics.registry.metrics();
    assert.match(
      text,
      /tessera_notifier_messages_sent_total\{channel="email",purpose="invite",service="notifier"\} 3\n/,
    );
    assert.match(
      text,
      /tessera_notifier_messages_failed_total\{channel="email",purpose="invite",refused="true",service="notifier"\} 3\n/,
    );
  });

  it('writes no address, token or private key to the log', () => {
    const logOutput = bed.logLines.map((line) => JSON.stringify(line)).join('\n');
    assert.ok(
      bed.logLines.some((line) => line.msg === 'invite mail sent'),
      'the log was captured',
    );
    for (const stored of invites) {
      for (const secret of [
        stored.address,
        stored.address.toLowerCase(),
        stored.token,
        stored.ephemeralPrivateKey,
        stored.roomId,
      ])
        assert.ok(!logOutput.includes(secret), 'a secret of an invite is in the log');
    }
  });
});
