// One 3PID's binding (`tessera.assoc.<addrKey>`): at most one current binding, which a new binding
// replaces and an unbind by its user (or an admin) ends. Pure: the sealed association, the ids and
// the time come in the command.
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
  /** `userKey` null: whoever is bound (the admin API); else only that user's binding ends. */
  | { type: 'Unbind'; addrKey: string; userKey: string | null; authority: UnbindAuthority; now: Date };

export type Association = {
  current: { bindingId: string; userKey: string } | null;
  /** The binding that ended last (replaced or unbound): its data key is erased, again if need be. */
  lastEnded: string | null;
};

export const initial = (): Association => ({ current: null, lastEnded: null });

export function evolve(state: Association, event: AssociationEvent): Association {
  switch (event.type) {
    case 'AssociationBound':
      return {
        current: { bindingId: event.data.bindingId, userKey: event.data.userKey },
        lastEnded: state.current?.bindingId ?? state.lastEnded,
      };
    case 'AssociationUnbound':
      return { current: null, lastEnded: event.data.bindingId };
  }
}

export function decide(command: AssociationCommand, state: Association): AssociationEvent[] {
  switch (command.type) {
    case 'Bind':
      // Binding a 3PID bound to someone else (or to the same user again) replaces that binding.
      return [{ type: 'AssociationBound', data: { ...command.binding, at: command.now } }];
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
