import { CATEGORIES, type Category, type PlanReport } from './plan-report.js';
import type { SendTally } from './send-import.js';

const LABELS: Record<Category, string> = {
  pepper: 'pepper',
  associations: 'associations',
  invites: 'invites',
  ephemeralKeys: 'ephemeral keys',
  accounts: 'account tokens',
  terms: 'terms',
  sessions: 'sessions',
};

const pad = (text: string | number, width: number) => String(text).padStart(width);

/** What the plan carries over and leaves out, per category, with reasons and their first examples. */
export function formatPlan(report: PlanReport, now: number): string {
  const lines = [`plan at --now ${new Date(now).toISOString()} (${now}):`];
  lines.push(`  ${'category'.padEnd(16)}${pad('to import', 10)}${pad('left out', 10)}`);
  for (const category of CATEGORIES)
    lines.push(
      `  ${LABELS[category].padEnd(16)}${pad(report.planned[category], 10)}${pad(report.leftOut[category].total, 10)}`,
    );
  const leftOut = CATEGORIES.flatMap((category) =>
    report.leftOut[category].entries().map(([reason, entry]) => ({ category, reason, entry })),
  );
  if (leftOut.length > 0) lines.push('left out, and why:');
  for (const { category, reason, entry } of leftOut) {
    lines.push(`  ${LABELS[category]}: ${entry.count} × ${reason}`);
    lines.push(...examples(entry));
  }
  const notes = report.notes.entries();
  if (notes.length > 0) lines.push('noticed:');
  for (const [note, entry] of notes) {
    lines.push(`  ${entry.count} × ${note}`);
    lines.push(...examples(entry));
  }
  return `${lines.join('\n')}\n`;
}

function examples(entry: { count: number; examples: readonly string[] }): string[] {
  const lines = entry.examples.map((example) => `      ${example}`);
  if (entry.count > entry.examples.length) lines.push(`      … and ${entry.count - entry.examples.length} more`);
  return lines;
}

/** The services' answers per category: imported, already present, refused (with the first reasons). */
export function formatSummary(report: PlanReport, sent: Partial<Record<Category, SendTally>>): string {
  const lines = [
    `  ${'category'.padEnd(16)}${pad('planned', 9)}${pad('imported', 10)}${pad('present', 9)}${pad('refused', 9)}`,
  ];
  for (const category of CATEGORIES) {
    const tally = sent[category];
    if (tally === undefined) continue;
    lines.push(
      `  ${LABELS[category].padEnd(16)}${pad(report.planned[category], 9)}${pad(tally.imported, 10)}${pad(tally.present, 9)}${pad(tally.refused, 9)}`,
    );
  }
  const signatures = sent.associations?.signatures;
  if (signatures !== undefined && signatures.same + signatures.changed + signatures.added > 0) {
    lines.push(
      `association signatures: ${signatures.same} same as Sydent's, ${signatures.changed} changed, ${signatures.added} added`,
    );
    const changed = sent.associations?.changedSignatures ?? [];
    if (signatures.changed > 0)
      lines.push(
        `warning: ${signatures.changed} associations came back with a signature other than Sydent's under the same key id (signing holds another key under that id?):`,
        ...changed.map((label) => `      ${label}`),
        ...(signatures.changed > changed.length ? [`      … and ${signatures.changed - changed.length} more`] : []),
      );
  }
  for (const category of CATEGORIES) {
    const tally = sent[category];
    if (tally === undefined || tally.refused === 0) continue;
    lines.push(`refused ${LABELS[category]}:`);
    for (const { label, reason } of tally.refusals) lines.push(`      ${label}: ${reason}`);
    if (tally.refused > tally.refusals.length) lines.push(`      … and ${tally.refused - tally.refusals.length} more`);
  }
  return `${lines.join('\n')}\n`;
}
