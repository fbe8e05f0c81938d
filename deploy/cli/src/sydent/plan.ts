import { planAssociations } from './plan-associations.js';
import { planAccounts, planEphemeralKeys, planInvites, planPepper, planSessions, planTerms } from './plan-records.js';
import type { Category, Planned, PlanReport } from './plan-report.js';
import type { SydentRows } from './sydent-db.js';

export type PlanContext = { serverName: string; now: number; report: PlanReport };

/**
 * Every category's planned items, in the order they are imported: the pepper first (the hashes
 * the directory computes use it), then associations (invites are delivered on their binding),
 * invites, ephemeral keys, accounts, terms (they need the account), sessions.
 */
export function plannedCategories(
  rows: SydentRows,
  context: PlanContext,
): [Category, () => Iterable<Planned<unknown>>][] {
  return [
    [
      'pepper',
      () => {
        const pepper = planPepper(rows, context);
        return pepper === undefined ? [] : [pepper];
      },
    ],
    ['associations', () => planAssociations(rows, context)],
    ['invites', () => planInvites(rows, context)],
    ['ephemeralKeys', () => planEphemeralKeys(rows, context)],
    ['accounts', () => planAccounts(rows, context)],
    ['terms', () => planTerms(rows, context)],
    ['sessions', () => planSessions(rows, context)],
  ];
}
