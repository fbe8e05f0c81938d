// One batch of ephemeral public keys imported from another server (`tessera.ephemeral_keys.<batchId>`,
// the id a digest of the batch's keys): valid for good, as they were there. Pure: the keys, checked
// and in the form isvalid compares, and the time come in the command.
import type { Decider } from '@tessera/event-store';

export type EphemeralKeysEvent = { type: 'EphemeralKeysImported'; data: { publicKeys: string[]; at: Date } };

export type EphemeralKeysCommand = { type: 'ImportEphemeralKeys'; publicKeys: string[]; now: Date };

export type EphemeralKeys = { imported: boolean };

export const initial = (): EphemeralKeys => ({ imported: false });

export function evolve(_state: EphemeralKeys, event: EphemeralKeysEvent): EphemeralKeys {
  switch (event.type) {
    case 'EphemeralKeysImported':
      return { imported: true };
  }
}

export function decide(command: EphemeralKeysCommand, state: EphemeralKeys): EphemeralKeysEvent[] {
  switch (command.type) {
    case 'ImportEphemeralKeys':
      // The batch's id is a digest of its keys: imported already means these very keys.
      if (state.imported) return [];
      if (command.publicKeys.length === 0) throw new Error('an import of ephemeral keys holds at least one key');
      return [{ type: 'EphemeralKeysImported', data: { publicKeys: command.publicKeys, at: command.now } }];
  }
}

export const ephemeralKeysDecider: Decider<EphemeralKeysCommand, EphemeralKeysEvent, EphemeralKeys> = {
  decide,
  evolve,
  initial,
};
