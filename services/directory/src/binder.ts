import type { ProjectionWait } from '@tessera/db';
import { TesseraError } from '@tessera/errors';
import { type DataKeys, type EventStore, handleCommand, type LoadedState, subjectOf } from '@tessera/event-store';
import { randomBytes } from '@tessera/secure-random';
import type { Secrets } from '@tessera/server-secret';
import type { Logger } from '@tessera/service-kit';
import { bindingDataKey, type Medium, ASSOCIATION_SEALED_FIELDS as SEALED } from '@tessera/spec-params';
import { associationOf, canonicalSigned, type UnsignedAssociation } from './association-json.js';
import {
  type Association,
  type AssociationCommand,
  type BindingSource,
  initial,
  keysToErase,
  type UnbindAuthority,
} from './domain/association.js';
import { storedAssociations } from './events/association-events.js';

/** `tessera.assoc.<addrKey>` */
export const assocSubject = (addrKey: string) => subjectOf('assoc', addrKey);

/** Signs associations with signing's current key under TESSERA_SERVER_NAME; answers the JSON in order. */
export type SignAssociations = (associations: UnsignedAssociation[]) => Promise<string[]>;

export interface BinderDeps {
  store: EventStore;
  dataKeys: DataKeys;
  secrets: Secrets;
  sign: SignAssociations;
  projected: ProjectionWait;
  /** TESSERA_BIND_VISIBLE_WAIT_MS */
  visibleWaitMs: number;
  now: () => number;
  log: Logger;
}

/** One 3PID to bind; the address normalised already. */
export type BindRequest = {
  medium: Medium;
  address: string;
  mxid: string;
  /** Email: the matrix-js-sdk form where it differs from `address`; else empty. */
  clientLowercaseAddress: string;
  source: BindingSource;
  /** When it was verified (ms); now when absent (imports may carry their own). */
  ts?: number;
};

/** A signed association ready to store. */
export type SignedBinding = { request: BindRequest; associationJson: string; ts: number };

export type UnbindRequest = {
  medium: Medium;
  address: string;
  /** Only this user's binding ends; null: whoever is bound (admin). */
  mxid: string | null;
  authority: UnbindAuthority;
};

export interface Binder {
  /** Binds, and answers the signed association once every replica's lookups see it. */
  bind(request: BindRequest): Promise<string>;
  /** Ends the binding (when it is `mxid`'s), erases its data, and answers once lookups no longer find it. */
  unbind(request: UnbindRequest): Promise<void>;
  /** Signs many associations in one call to signing (imports). */
  sign(requests: BindRequest[]): Promise<SignedBinding[]>;
  /**
   * Stores one signed binding and erases the data key of the binding it replaced; answers the
   * stream sequence to wait for. `fresh`: the 3PID is believed unbound (decided without a load first).
   */
  store(binding: SignedBinding, options?: { fresh?: boolean }): Promise<number>;
  /** Waits until the projector has applied `seq`: 503 M_UNKNOWN when it takes longer than the bound. */
  visible(seq: number): Promise<void>;
  /**
   * The same for an import, whose last append may be a long way ahead of the projector: waits as
   * long as the projector keeps applying; 503 only once it applied nothing for the bound.
   */
  visibleWhileApplying(seq: number): Promise<void>;
}

/** 16 base64url characters (96 random bits): names a binding and its data key. */
const newBindingId = () => randomBytes(12).toString('base64url');

export function createBinder(deps: BinderDeps): Binder {
  const { store, dataKeys, secrets, projected, visibleWaitMs, now, log } = deps;

  const eraseAll = async (addrKey: string, bindingIds: string[]) => {
    for (const bindingId of bindingIds) await dataKeys.erase(bindingDataKey(addrKey, bindingId));
  };

  const sign = async (requests: BindRequest[]): Promise<SignedBinding[]> => {
    const at = now();
    const unsigned = requests.map((r) => associationOf(r.medium, r.address, r.mxid, r.ts ?? at));
    const signed = await deps.sign(unsigned);
    return requests.map((request, i) => ({
      request,
      associationJson: canonicalSigned(signed[i] as string),
      ts: unsigned[i]?.ts as number,
    }));
  };

  const storeBinding = async ({ request, associationJson, ts }: SignedBinding, options: { fresh?: boolean } = {}) => {
    const addrKey = secrets.addrKey(request.medium, request.address);
    const bindingId = newBindingId();
    const aggregate = bindingDataKey(addrKey, bindingId);
    // A fresh binding id: no replica can hold a key for it in its cache, erased or not.
    await dataKeys.createKey(aggregate);
    const association = await dataKeys.sealField(aggregate, SEALED.association, associationJson);
    const clientLowercaseAddress =
      request.clientLowercaseAddress === '' || request.clientLowercaseAddress === request.address
        ? null
        : await dataKeys.sealField(aggregate, SEALED.clientLowercaseAddress, request.clientLowercaseAddress);
    const command: AssociationCommand = {
      type: 'Bind',
      binding: {
        addrKey,
        medium: request.medium,
        bindingId,
        userKey: secrets.userKey(request.mxid),
        association,
        clientLowercaseAddress,
        ts,
        notBefore: ts,
        notAfter: associationOf(request.medium, request.address, request.mxid, ts).not_after,
        source: request.source,
      },
      now: new Date(now()),
    };
    let before: Association = initial();
    const handled = await handleCommand(
      store,
      assocSubject(addrKey),
      storedAssociations,
      async (loaded: LoadedState<Association>) => {
        before = loaded.state;
        return command;
      },
      options.fresh ? { assume: { state: initial(), seq: 0 } } : {},
    );
    await eraseAll(addrKey, keysToErase(before, handled.state));
    return handled.seq;
  };

  const notVisible = (seq: number) => {
    log.warn({ seq, waitedMs: visibleWaitMs }, 'change stored but the projector has not applied it in time');
    return new TesseraError(
      'M_UNKNOWN',
      'the change is stored but not yet visible to lookups; retrying the request is safe',
      { httpStatus: 503 },
    );
  };
  const visible = async (seq: number) => {
    if (!(await projected.until(seq, visibleWaitMs))) throw notVisible(seq);
  };
  const visibleWhileApplying = async (seq: number) => {
    for (;;) {
      const before = projected.checkpoint();
      if (await projected.until(seq, visibleWaitMs)) return;
      if (projected.checkpoint() <= before) throw notVisible(seq);
    }
  };

  return {
    sign,
    store: storeBinding,
    visible,
    visibleWhileApplying,
    async bind(request) {
      const [signed] = await sign([request]);
      if (signed === undefined) throw new Error('signing answered nothing');
      await visible(await storeBinding(signed));
      return signed.associationJson;
    },
    async unbind({ medium, address, mxid, authority }) {
      const addrKey = secrets.addrKey(medium, address);
      const handled = await handleCommand(store, assocSubject(addrKey), storedAssociations, {
        type: 'Unbind',
        addrKey,
        userKey: mxid === null ? null : secrets.userKey(mxid),
        authority,
        now: new Date(now()),
      });
      // Erased after the append, also when nothing was appended: a retry after a crash between
      // the two must still erase the binding that ended.
      const ended = handled.state.lastEnded;
      if (ended !== null) await eraseAll(addrKey, [ended]);
      if (handled.events.length > 0) await visible(handled.seq);
    },
  };
}
