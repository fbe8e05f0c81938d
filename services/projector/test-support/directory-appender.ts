// Appends association and pepper events as the directory does (sealed with a fresh data key per
// binding, the replaced binding's key erased after the append, unbind erasing too), for the
// projector's tests and benchmark. Not the directory: no deciders, no signatures checked.
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from '@tessera/canonical-json';
import { DataKeys, EventStore, newEvent, openDataKeySource, subjectOf } from '@tessera/event-store';
import { indexForms } from '@tessera/lookup-hash';
import { BindingSource, UnbindAuthority } from '@tessera/proto/tessera/events/v1/association';
import type { Event } from '@tessera/proto/tessera/events/v1/envelope';
import { ThreepidMedium } from '@tessera/proto/tessera/events/v1/session';
import { ASSOCIATION_SEALED_FIELDS, bindingDataKey } from '@tessera/spec-params';
import type { NatsConnection } from 'nats';

export type Binding = { medium: 'email' | 'msisdn'; address: string; mxid: string };
export type Bound = { addrKey: string; bindingId: string; seq: number; association: string; forms: string[] };

const AT = new Date('2026-12-03T10:00:00Z');
const YEAR_MS = 365 * 24 * 3_600_000;

/** The address key as a stand-in for the directory's HMAC: stable, and names no address. */
export const addrKeyOf = (medium: string, normalized: string) =>
  createHash('sha256').update(`${medium}\0${normalized}`).digest('base64url').slice(0, 43);

export class TestDirectory {
  readonly #store: EventStore;
  readonly #keys: DataKeys;
  // Per subject, its last sequence (the appends' expectation) and the live binding's id.
  readonly #last = new Map<string, { seq: number; bindingId?: string }>();

  private constructor(store: EventStore, keys: DataKeys) {
    this.#store = store;
    this.#keys = keys;
  }

  /** On a connection that may append `assoc` and `pepper` and seal and erase `assoc` keys (the directory's). */
  static async on(nc: NatsConnection): Promise<TestDirectory> {
    return new TestDirectory(new EventStore(nc), new DataKeys(await openDataKeySource(nc), { cacheSize: 10 }));
  }

  /**
   * Binds as the directory does: seals with the binding's own key, appends, then erases the
   * replaced binding's key. `beforeAppend` runs once the key is made, before the event is appended.
   * `keepCase`: the association is signed with the address as given, as an imported peer's row is.
   */
  async bind(
    { medium, address, mxid }: Binding,
    {
      beforeAppend,
      keepCase = false,
    }: { beforeAppend?: (aggregate: string) => Promise<void>; keepCase?: boolean } = {},
  ): Promise<Bound> {
    const [normalized = address, clientForm] = indexForms(medium, address);
    const addrKey = addrKeyOf(medium, normalized);
    const bindingId = randomBytes(12).toString('base64url');
    const key = bindingDataKey(addrKey, bindingId);
    const ts = AT.getTime();
    const association = canonicalJson({
      address: keepCase ? address : normalized,
      medium,
      mxid,
      not_after: ts + 100 * YEAR_MS,
      not_before: ts,
      signatures: { 'test.example': { 'ed25519:0': 'c2lnbmF0dXJl' } },
      ts,
    });
    await this.#keys.createKey(key);
    const event = newEvent(
      {
        $case: 'associationBound',
        value: {
          addrKey,
          medium: medium === 'email' ? ThreepidMedium.THREEPID_MEDIUM_EMAIL : ThreepidMedium.THREEPID_MEDIUM_MSISDN,
          bindingId,
          userKey: createHash('sha256').update(mxid).digest('base64url'),
          association: await this.#keys.sealField(key, ASSOCIATION_SEALED_FIELDS.association, association),
          clientLowercaseAddress:
            clientForm === undefined
              ? undefined
              : await this.#keys.sealField(key, ASSOCIATION_SEALED_FIELDS.clientLowercaseAddress, clientForm),
          ts,
          notBefore: ts,
          notAfter: ts + 100 * YEAR_MS,
          source: BindingSource.BINDING_SOURCE_IMPORT,
        },
      },
      AT,
    );
    await beforeAppend?.(key);
    const subject = subjectOf('assoc', addrKey);
    const before = this.#last.get(subject);
    const seq = await this.#append(subject, event);
    this.#last.set(subject, { seq, bindingId });
    if (before?.bindingId !== undefined) await this.#keys.erase(bindingDataKey(addrKey, before.bindingId));
    return {
      addrKey,
      bindingId,
      seq,
      association,
      forms: clientForm === undefined ? [normalized] : [normalized, clientForm],
    };
  }

  /** Unbinds the live binding of `addrKey`: appends, then erases its key. */
  async unbind(addrKey: string): Promise<number> {
    const subject = subjectOf('assoc', addrKey);
    const bindingId = this.#last.get(subject)?.bindingId;
    if (bindingId === undefined) throw new Error('nothing bound there');
    const event = newEvent(
      { $case: 'associationUnbound', value: { addrKey, bindingId, authority: UnbindAuthority.UNBIND_AUTHORITY_ADMIN } },
      AT,
    );
    const seq = await this.#append(subject, event);
    this.#last.set(subject, { seq });
    await this.#keys.erase(bindingDataKey(addrKey, bindingId));
    return seq;
  }

  /** A data key made and never used by any event (the directory died before appending). */
  async createKey(aggregate: string): Promise<void> {
    await this.#keys.createKey(aggregate);
  }

  /** Erases a key without any event (crypto-shredding by hand). */
  async eraseKey(aggregate: string): Promise<void> {
    await this.#keys.erase(aggregate);
  }

  async createPepper(pepperId: string, pepper: string): Promise<number> {
    return this.#append(
      subjectOf('pepper', 'lookup'),
      newEvent({ $case: 'pepperCreated', value: { pepperId, pepper } }, AT),
    );
  }

  async retirePepper(pepperId: string): Promise<number> {
    return this.#append(subjectOf('pepper', 'lookup'), newEvent({ $case: 'pepperRetired', value: { pepperId } }, AT));
  }

  async #append(subject: string, event: Event): Promise<number> {
    const expectedSeq = this.#last.get(subject)?.seq ?? 0;
    const seq = await this.#store.append(subject, [event], { expectedSeq, correlationId: 'projector-test' });
    const known = this.#last.get(subject);
    this.#last.set(subject, { ...known, seq });
    return seq;
  }
}
