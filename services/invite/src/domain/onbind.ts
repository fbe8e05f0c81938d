// One onbind call (`tessera.onbind.<onbindId>`): requested once per binding that found pending
// invites. The notifier records its delivery on its own aggregate (`onbind_delivery`).
import type { Decider } from '@tessera/event-store';
import type { Sealed } from '@tessera/proto/tessera/events/v1/sealed';

export type OnbindRequest = {
  /** The binding's id: reacting to one AssociationBound twice asks for one call. */
  onbindId: string;
  addrKey: string;
  bindingId: string;
  inviteIds: string[];
  /** OnbindCall under onbindDataKey. */
  call: Sealed;
  giveUpAt: Date;
};

export type OnbindEvent = { type: 'OnbindRequested'; data: OnbindRequest & { at: Date } };

export type OnbindCommand = { type: 'RequestOnbind'; request: OnbindRequest; now: Date };

/** Once requested: the invites it carries (each then marked claimed by it, InviteClaimed). */
export type Onbind = { requested: false } | { requested: true; inviteIds: readonly string[] };

export const initial = (): Onbind => ({ requested: false });

export function evolve(_state: Onbind, event: OnbindEvent): Onbind {
  switch (event.type) {
    case 'OnbindRequested':
      return { requested: true, inviteIds: event.data.inviteIds };
  }
}

export function decide(command: OnbindCommand, state: Onbind): OnbindEvent[] {
  switch (command.type) {
    case 'RequestOnbind':
      // Asked again (the binding's event delivered again): the first request stands.
      if (state.requested) return [];
      if (command.request.inviteIds.length === 0) throw new Error('an onbind call carries at least one invite');
      return [{ type: 'OnbindRequested', data: { ...command.request, at: command.now } }];
  }
}

export const onbindDecider: Decider<OnbindCommand, OnbindEvent, Onbind> = { decide, evolve, initial };
