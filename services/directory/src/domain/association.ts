// One 3PID's binding (`tessera.assoc.<addrKey>`): at most one current binding, which a new binding
// replaces and an unbind by its user (or an admin) ends; an imported binding only replaces an older
// one. Pure: the sealed association, the ids and the time come in the command.
import { TesseraError } from '@tessera/errors';
import type { Decider } from '@tessera/event-store';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';
import type { Medium } from '@tessera/spec-params';

export type BindingSource = 'session' | 'admin' | 'import';
export type UnbindAuthority = 'session' | 'homeserver' | 'admin';

/** A binding's sealed association and its public timestamps (ms). */
export type Binding = {
  addrKey: string;
  medium: Medium;
  bindingId: string;
  userKey: string;
  association: Sealed;
  clientLowercaseAddress: Sealed | null;
  ts: number;
  notBefore: number;
  notAfter: number;
  source: BindingSource;
};

export type AssociationEvent =
  | { type: 'AssociationBound'; data: Binding & { at: Date } }
  | { type: 'AssociationUnbound'; data: { addrKey: string; bindingId: string; authority: UnbindAuthority; at: Date } };

export type AssociationCommand =
  | { type: 'Bind'; binding: Binding; now: Date }
  /** A binding from another server's history (its id derived from the source row): see importVerdict. */
  | { type: 'ImportBinding'; binding: Binding; now: Date }
  /** `userKey` null: whoever is bound (the admin API); else only that user's binding ends. */
  | { type: 'Unbind'; addrKey: string; userKey: string | null; authority: UnbindAuthority; now: Date };

export type Association = {
  /** `ts`: when the binding's 3PID was verified (ms), as its signed association says. */
  current: { bindingId: string; userKey: string; ts: number } | null;
  /** The binding that ended last (replaced or unbound): its data key is erased, again if need be. */
  lastEnded: string | null;
  /** When the last unbind ended a binding (ms); null after a bind. */
  unboundAt: number | null;
  /** The ids of the bindings imports made: an import finds its own binding here, whatever came after. */
  imported: string[];
};

export const initial = (): Association => ({ current: null, lastEnded: null, unboundAt: null, imported: [] });

export function evolve(state: Association, event: AssociationEvent): Association {
  switch (event.type) {
    case 'AssociationBound': {
      const { bindingId, userKey, ts, source } = event.data;
      return {
        current: { bindingId, userKey, ts },
        lastEnded: state.current?.bindingId ?? state.lastEnded,
        unboundAt: null,
        imported: source === 'import' ? [...state.imported, bindingId] : state.imported,
      };
    }
    case 'AssociationUnbound':
      return { ...state, current: null, lastEnded: event.data.bindingId, unboundAt: event.data.at.getTime() };
  }
}

export type ImportVerdict =
  | { kind: 'bind' }
  /** This import's binding is (or was) in the store: nothing to do. */
  | { kind: 'present' }
  | { kind: 'superseded'; reason: string };

/**
 * Whether an imported binding (`bindingId`, verified at `ts`) is to be stored: not when an import
 * made it already (even if it was replaced or unbound since: importing again must not undo that),
 * nor when the 3PID has a binding as new or newer, or was unbound after `ts`; an older binding is
 * replaced, as a bind would.
 */
export function importVerdict(state: Association, bindingId: string, ts: number): ImportVerdict {
  if (state.imported.includes(bindingId)) return { kind: 'present' };
  if (state.current !== null && state.current.ts >= ts) return { kind: 'superseded', reason: 'a newer binding exists' };
  if (state.current === null && state.unboundAt !== null && state.unboundAt >= ts)
    return { kind: 'superseded', reason: 'the 3PID was unbound after this binding was made' };
  return { kind: 'bind' };
}

/** The errcode of an import refused by importVerdict (the reason says why). */
export const IMPORT_SUPERSEDED = 'M_THREEPID_IN_USE';

export function decide(command: AssociationCommand, state: Association): AssociationEvent[] {
  switch (command.type) {
    case 'Bind':
      // Binding a 3PID bound to someone else (or to the same user again) replaces that binding.
      return [{ type: 'AssociationBound', data: { ...command.binding, at: command.now } }];
    case 'ImportBinding': {
      const verdict = importVerdict(state, command.binding.bindingId, command.binding.ts);
      if (verdict.kind === 'present') return [];
      if (verdict.kind === 'superseded') throw new TesseraError(IMPORT_SUPERSEDED, verdict.reason);
      return [{ type: 'AssociationBound', data: { ...command.binding, at: command.now } }];
    }
    case 'Unbind': {
      const { current } = state;
      if (current === null || (command.userKey !== null && current.userKey !== command.userKey)) return [];
      return [
        {
          type: 'AssociationUnbound',
          data: {
            addrKey: command.addrKey,
            bindingId: current.bindingId,
            authority: command.authority,
            at: command.now,
          },
        },
      ];
    }
  }
}

export const associationDecider: Decider<AssociationCommand, AssociationEvent, Association> = {
  decide,
  evolve,
  initial,
};

/**
 * The data keys to erase once a decision on `before` is stored: the binding it ended, and the one
 * that ended before (erased then, unless the process died between append and erase).
 */
export function keysToErase(before: Association, after: Association): string[] {
  const ended = new Set<string>();
  if (before.lastEnded !== null) ended.add(before.lastEnded);
  if (after.lastEnded !== null) ended.add(after.lastEnded);
  if (after.current !== null) ended.delete(after.current.bindingId);
  return [...ended];
}
