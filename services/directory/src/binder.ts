import type { ProjectionWait } from '@tessera/db';
import { TesseraError } from '@tessera/errors';
import {
  ConcurrencyConflict,
  type DataKeys,
  type EventStore,
  handleCommand,
  type LoadedState,
  loadState,
  subjectOf,
} from '@tessera/event-store';
import { randomBytes } from '@tessera/secure-random';
import type { Secrets } from '@tessera/server-secret';
import type { Logger } from '@tessera/service-kit';
import { bindingDataKey, type Medium, ASSOCIATION_SEALED_FIELDS as SEALED } from '@tessera/spec-params';
import { associationOf, canonicalSigned, type UnsignedAssociation } from './association-json.js';
import {
  type Association,
  type AssociationCommand,
  type BindingSource,
  IMPORT_SUPERSEDED,
  importVerdict,
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

/** What names an imported association and decides whether it is stored: the source row, the 3PID, its time. */
export type ImportKey = {
  /** Names the binding (importedBindingId): importing it again finds it. */
  importId: string;
  medium: Medium;
  /** Normalised. */
  address: string;
  ts: number;
};

/** The rest of an imported binding, once signed (see admin/association-items). */
export type SignedImport = {
  mxid: string;
  /** Email: the signed address lower-cased, where it differs from the normalised one; else empty. */
  clientLowercaseAddress: string;
  /** The canonical JSON to store and serve, with every signature. */
  associationJson: string;
  notBefore: number;
  notAfter: number;
};

/** `imported`: appended at `seq`; `present`: an import stored it before, nothing written; `refused`: see `reason`. */
export type ImportedOutcome =
  | { outcome: 'imported'; seq: number }
  | { outcome: 'present' }
  | { outcome: 'refused'; reason: string };

/**
 * What the store says of an import before anything is signed or written: `present` and
 * `refused` are final; `absent` is to be stored with `store`, which decides again on the
 * aggregate as it was loaded (loading it again on a conflict).
 */
export type ImportCheck =
  | Exclude<ImportedOutcome, { outcome: 'imported' }>
  | { outcome: 'absent'; store(signed: SignedImport): Promise<ImportedOutcome> };

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
  /** Signs associations as given (their six fields), in one call: signing's JSON, in order. */
  signAssociations: SignAssociations;
  /**
   * Loads the import's aggregate and tells whether an import stored it before or the 3PID has a
   * binding as new (domain importVerdict), before anything is written: importing again writes
   * nothing, not even a data key. Its `store` binds, erasing the data key of the binding replaced.
   */
  checkImport(key: ImportKey): Promise<ImportCheck>;
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
const BINDING_ID_LENGTH = 16;

/** An imported binding's id: 16 characters of a keyed digest of its `importId`, the same on every run. */
export const importedBindingId = (secrets: Secrets, importId: string) =>
  secrets.digest('import_binding', importId).slice(0, BINDING_ID_LENGTH);

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

  /** Makes the binding's data key (unless it has one) and seals its association and client form with it. */
  const sealed = async (
    addrKey: string,
    bindingId: string,
    { address, clientLowercaseAddress }: { address: string; clientLowercaseAddress: string },
    associationJson: string,
  ) => {
    const aggregate = bindingDataKey(addrKey, bindingId);
    await dataKeys.createKey(aggregate);
    return {
      association: await dataKeys.sealField(aggregate, SEALED.association, associationJson),
      clientLowercaseAddress:
        clientLowercaseAddress === '' || clientLowercaseAddress === address
          ? null
          : await dataKeys.sealField(aggregate, SEALED.clientLowercaseAddress, clientLowercaseAddress),
    };
  };

  const checkImport = async (key: ImportKey): Promise<ImportCheck> => {
    const addrKey = secrets.addrKey(key.medium, key.address);
    const bindingId = importedBindingId(secrets, key.importId);
    const subject = assocSubject(addrKey);
    const loaded = await loadState(store, subject, storedAssociations);
    const verdict = importVerdict(loaded.state, bindingId, key.ts);
    if (verdict.kind === 'present') return { outcome: 'present' };
    if (verdict.kind === 'superseded') return { outcome: 'refused', reason: verdict.reason };
    return { outcome: 'absent', store: (signed) => storeImported(key, signed, { addrKey, bindingId, loaded }) };
  };

  const storeImported = async (
    { medium, address, ts }: ImportKey,
    signed: SignedImport,
    { addrKey, bindingId, loaded }: { addrKey: string; bindingId: string; loaded: LoadedState<Association> },
  ): Promise<ImportedOutcome> => {
    // A derived id: a key left by an import that died before its append is found and used again.
    const sealedFields = await sealed(addrKey, bindingId, { ...signed, address }, signed.associationJson);
    const command: AssociationCommand = {
      type: 'ImportBinding',
      binding: {
        addrKey,
        medium,
        bindingId,
        userKey: secrets.userKey(signed.mxid),
        ...sealedFields,
        ts,
        notBefore: signed.notBefore,
        notAfter: signed.notAfter,
        source: 'import',
      },
      now: new Date(now()),
    };
    const decided = await decideBinding(addrKey, command, loaded).catch((err: unknown) => {
      if (err instanceof TesseraError && err.errcode === IMPORT_SUPERSEDED) return { refused: err.message };
      if (err instanceof ConcurrencyConflict) return { refused: 'the 3PID kept changing meanwhile; import it again' };
      throw err;
    });
    // Superseded since the check: the key stays unused (not erased: the same import running
    // beside this one may have stored its binding with it just now).
    if ('refused' in decided) return { outcome: 'refused', reason: decided.refused };
    if (decided.events.length === 0) return { outcome: 'present' }; // the same import, running beside this one
    return { outcome: 'imported', seq: decided.seq };
  };

  /**
   * Decides a bind on the 3PID's aggregate (on `assume` first, when given) and, when it appended,
   * erases the data keys of the bindings that ended.
   */
  const decideBinding = async (addrKey: string, command: AssociationCommand, assume?: LoadedState<Association>) => {
    let before = assume?.state ?? initial();
    const handled = await handleCommand(
      store,
      assocSubject(addrKey),
      storedAssociations,
      async (loaded: LoadedState<Association>) => {
        before = loaded.state;
        return command;
      },
      assume === undefined ? {} : { assume },
    );
    if (handled.events.length > 0) await eraseAll(addrKey, keysToErase(before, handled.state));
    return handled;
  };

  const storeBinding = async ({ request, associationJson, ts }: SignedBinding, options: { fresh?: boolean } = {}) => {
    const addrKey = secrets.addrKey(request.medium, request.address);
    const bindingId = newBindingId();
    // A fresh binding id: no replica can hold a key for it in its cache, erased or not.
    const { association, clientLowercaseAddress } = await sealed(addrKey, bindingId, request, associationJson);
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
    const handled = await decideBinding(addrKey, command, options.fresh ? { state: initial(), seq: 0 } : undefined);
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
    signAssociations: deps.sign,
    checkImport,
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
