// Appends invite and onbind events as the invite service and the notifier do (sealed fields with
// each invite's and call's own data keys), for the projector's tests. Not those services: no
// deciders; the events are whatever a test asks for, in the order it asks.
import { randomBytes } from 'node:crypto';
import { DataKeys, EventStore, newEvent, openDataKeySource, subjectOf } from '@tessera/event-store';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { InviteMail, InviteSecrets, OnbindCall } from '@tessera/proto/tessera/events/v1/invite';
import { ThreepidMedium } from '@tessera/proto/tessera/events/v1/session';
import { INVITE_SEALED_FIELDS, inviteDataKey, inviteMailDataKey, onbindDataKey } from '@tessera/spec-params';
import type { NatsConnection } from 'nats';
import { addrKeyOf } from './directory-appender.js';

const AT = new Date('2026-12-03T10:00:00Z');
const DAY_MS = 24 * 3_600_000;

export type StoredInvite = { inviteId: string; addrKey: string; ephemeralPublicKey: string; seq: number };

export class TestInvites {
  readonly #invites: { store: EventStore; keys: DataKeys };
  readonly #notifier: { store: EventStore };
  // Per subject, its last sequence: the appends' expectation.
  readonly #last = new Map<string, number>();

  private constructor(invites: { store: EventStore; keys: DataKeys }, notifier: { store: EventStore }) {
    this.#invites = invites;
    this.#notifier = notifier;
  }

  /**
   * `inviteNc` may append `invite` and `onbind` and seal their keys (the invite service's rights);
   * `notifierNc` may append `onbind_delivery` (the notifier's).
   */
  static async on(inviteNc: NatsConnection, notifierNc: NatsConnection = inviteNc): Promise<TestInvites> {
    const keys = new DataKeys(await openDataKeySource(inviteNc), { cacheSize: 100 });
    return new TestInvites({ store: new EventStore(inviteNc), keys }, { store: new EventStore(notifierNc) });
  }

  /**
   * Stores an invite of `address` (email), expiring `expiresInMs` after AT; `imported` as the invite
   * service stores one from Sydent: no mail, no ephemeral key, and, when Sydent had `attempted` it,
   * claimed by no call (an empty onbind id) in the same message.
   */
  async store(
    address: string,
    { expiresInMs = 30 * DAY_MS, imported = false, attempted = false } = {},
  ): Promise<StoredInvite> {
    const token = randomBytes(24).toString('base64url');
    const inviteId = `inv-${randomBytes(12).toString('base64url')}`;
    const addrKey = addrKeyOf('email', address);
    const ephemeralPublicKey = imported ? '' : randomBytes(32).toString('base64url');
    const { keys } = this.#invites;
    await keys.createKey(inviteDataKey(inviteId));
    const secrets = InviteSecrets.encode({
      address,
      normalisedAddress: address,
      token,
      roomId: '!room:example.org',
      sender: '@inviter:example.org',
    }).finish();
    const event = newEvent(
      {
        $case: 'inviteStored',
        value: {
          inviteId,
          medium: ThreepidMedium.THREEPID_MEDIUM_EMAIL,
          addrKey,
          senderKey: 'sender-key',
          ephemeralPublicKey,
          secrets: await keys.sealField(inviteDataKey(inviteId), INVITE_SEALED_FIELDS.secrets, secrets),
          mail: imported ? undefined : await this.#sealMail(inviteId),
          brand: '',
          expiresAt: new Date(AT.getTime() + expiresInMs),
          longTermKeyId: 'ed25519:0',
          imported,
        },
      },
      AT,
    );
    const events = attempted
      ? [event, newEvent({ $case: 'inviteClaimed', value: { inviteId, onbindId: '' } }, AT)]
      : [event];
    const seq = await this.#append(this.#invites.store, subjectOf('invite', inviteId), ...events);
    return { inviteId, addrKey, ephemeralPublicKey, seq };
  }

  async #sealMail(inviteId: string) {
    const mail = InviteMail.encode({
      ephemeralPrivateKey: randomBytes(32).toString('base64'),
      fieldsJson: '{}',
      senderVerified: false,
    }).finish();
    await this.#invites.keys.createKey(inviteMailDataKey(inviteId));
    return this.#invites.keys.sealField(inviteMailDataKey(inviteId), INVITE_SEALED_FIELDS.mail, mail);
  }

  /** Ephemeral public keys imported from Sydent, in one batch (`tessera.ephemeral_keys.<batchId>`). */
  importKeys(batchId: string, publicKeys: string[]): Promise<number> {
    const event = newEvent({ $case: 'ephemeralKeysImported', value: { publicKeys } }, AT);
    return this.#append(this.#invites.store, subjectOf('ephemeral_keys', batchId), event);
  }

  claim(inviteId: string, onbindId: string): Promise<number> {
    const event = newEvent({ $case: 'inviteClaimed', value: { inviteId, onbindId } }, AT);
    return this.#append(this.#invites.store, subjectOf('invite', inviteId), event);
  }

  async revoke(inviteId: string): Promise<number> {
    const event = newEvent({ $case: 'inviteRevoked', value: { inviteId } }, AT);
    const seq = await this.#append(this.#invites.store, subjectOf('invite', inviteId), event);
    await this.#invites.keys.erase(inviteDataKey(inviteId));
    await this.#invites.keys.erase(inviteMailDataKey(inviteId));
    return seq;
  }

  /** Requests the onbind call `onbindId` (a binding id) for `addrKey`, carrying `inviteIds`. */
  async requestOnbind(
    onbindId: string,
    addrKey: string,
    inviteIds: string[],
    giveUpAt = new Date(AT.getTime() + 7 * DAY_MS),
  ) {
    const { keys } = this.#invites;
    await keys.createKey(onbindDataKey(onbindId));
    const call = OnbindCall.encode({ destination: 'example.org', bodyJson: '{}' }).finish();
    const event = newEvent(
      {
        $case: 'onbindRequested',
        value: {
          onbindId,
          addrKey,
          bindingId: onbindId,
          inviteIds,
          call: await keys.sealField(onbindDataKey(onbindId), INVITE_SEALED_FIELDS.call, call),
          giveUpAt,
        },
      },
      AT,
    );
    return this.#append(this.#invites.store, subjectOf('onbind', onbindId), event);
  }

  /** The notifier's record of one attempt: started, its lease renewed, then failed unless it is the last. */
  async attempt(onbindId: string, attempt: number, outcome: 'failed' | 'delivered' | 'abandoned'): Promise<number> {
    const lease = new Date(AT.getTime() + 60_000);
    await this.#appendDelivery(onbindId, [
      newEvent({ $case: 'onbindAttemptStarted', value: { onbindId, attempt, leaseEndsAt: lease } }, AT),
    ]);
    await this.#appendDelivery(onbindId, [
      newEvent({ $case: 'onbindLeaseRenewed', value: { onbindId, attempt, leaseEndsAt: lease } }, AT),
    ]);
    const last: Event =
      outcome === 'failed'
        ? newEvent(
            {
              $case: 'onbindAttemptFailed',
              value: { onbindId, attempt, reason: 'HTTP 503', httpStatus: 503, retryAt: lease },
            },
            AT,
          )
        : outcome === 'delivered'
          ? newEvent({ $case: 'onbindDelivered', value: { onbindId, attempt, method: 'POST' } }, AT)
          : newEvent({ $case: 'onbindAbandoned', value: { onbindId, attempts: attempt, reason: 'too old' } }, AT);
    const seq = await this.#appendDelivery(onbindId, [last]);
    if (outcome !== 'failed') await this.#invites.keys.erase(onbindDataKey(onbindId));
    return seq;
  }

  #appendDelivery(onbindId: string, events: Event[]): Promise<number> {
    return this.#append(this.#notifier.store, subjectOf('onbind_delivery', onbindId), ...events);
  }

  async #append(store: EventStore, subject: string, ...events: Event[]): Promise<number> {
    const seq = await store.append(subject, events, {
      expectedSeq: this.#last.get(subject) ?? 0,
      correlationId: 'projector-test',
    });
    this.#last.set(subject, seq);
    return seq;
  }
}
