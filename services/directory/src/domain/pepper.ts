// The v2 lookup peppers (`tessera.pepper.lookup`): created when there is none, rotated on a schedule
// or on command, and the older ones retired once the newest has been offered for the grace period.
// Whether a pepper's index is complete is the read model's knowledge: the command brings it.
import type { Decider } from '@tessera/event-store';

export type PepperEvent =
  | { type: 'PepperCreated'; data: { pepperId: string; pepper: string; at: Date } }
  | { type: 'PepperRetired'; data: { pepperId: string; at: Date } };

type NewPepper = { pepperId: string; pepper: string; now: Date };

export type PepperCommand =
  /** At start: a pepper when there is none (replicas racing end with one). */
  | ({ type: 'EnsurePepper' } & NewPepper)
  /** A new pepper when the newest is `intervalMs` old (or older); replicas racing end with one. */
  | ({ type: 'RotateIfDue'; intervalMs: number } & NewPepper)
  /** A new pepper now (the admin command). */
  | ({ type: 'Rotate' } & NewPepper)
  /**
   * Another server's pepper (an import), made the newest unless it was ever created here: once
   * rotated away it stays retired, so importing the same deployment again changes nothing.
   */
  | ({ type: 'Adopt' } & NewPepper)
  /** Retires every live pepper created before `currentPepperId` (live in the read model for the grace). */
  | { type: 'RetireOlder'; currentPepperId: string; now: Date };

export type PepperState = {
  live: { pepperId: string; pepper: string; createdAt: Date }[];
  /** Every pepper value ever created, retired ones included. */
  ever: ReadonlySet<string>;
};

export const initial = (): PepperState => ({ live: [], ever: new Set() });

export function evolve(state: PepperState, event: PepperEvent): PepperState {
  switch (event.type) {
    case 'PepperCreated': {
      const { pepperId, pepper, at } = event.data;
      return { live: [...state.live, { pepperId, pepper, createdAt: at }], ever: new Set([...state.ever, pepper]) };
    }
    case 'PepperRetired':
      return { ...state, live: state.live.filter((pepper) => pepper.pepperId !== event.data.pepperId) };
  }
}

const created = ({ pepperId, pepper, now }: NewPepper): PepperEvent[] => [
  { type: 'PepperCreated', data: { pepperId, pepper, at: now } },
];

export function decide(command: PepperCommand, state: PepperState): PepperEvent[] {
  switch (command.type) {
    case 'EnsurePepper':
      return state.live.length === 0 ? created(command) : [];
    case 'RotateIfDue': {
      const newest = state.live.at(-1);
      const due = newest === undefined || command.now.getTime() - newest.createdAt.getTime() >= command.intervalMs;
      return due ? created(command) : [];
    }
    case 'Rotate':
      return created(command);
    case 'Adopt':
      return state.ever.has(command.pepper) ? [] : created(command);
    case 'RetireOlder': {
      const index = state.live.findIndex((pepper) => pepper.pepperId === command.currentPepperId);
      if (index === -1) return []; // retired meanwhile, or not ours: nothing to reason from
      return state.live
        .slice(0, index)
        .map((pepper) => ({ type: 'PepperRetired', data: { pepperId: pepper.pepperId, at: command.now } }));
    }
  }
}

export const pepperDecider: Decider<PepperCommand, PepperEvent, PepperState> = { decide, evolve, initial };
