// What a Sydent import plans to carry over, what it leaves out and why, and what it noticed on the
// way: filled in as the planned items are read, printed by --dry-run and after an import.

export const CATEGORIES = [
  'pepper',
  'associations',
  'invites',
  'ephemeralKeys',
  'accounts',
  'terms',
  'sessions',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** One item to send, with a description of the rows it came from that names no secret. */
export type Planned<T> = { item: T; label: string };

/** How many examples of each reason a report keeps (the counts are always complete). */
export const EXAMPLES_KEPT = 20;

/** One row for the full report (`--report`): left out or noticed, why, and the row. */
export type ReportLine = {
  kind: 'left out' | 'noticed' | 'refused';
  category?: Category;
  reason: string;
  row: string;
  /** When `row` stands for several rows. */
  rows?: number;
};

/** A count per reason, with its first examples; every row also goes to `record`, when given. */
export class Tally {
  readonly #entries = new Map<string, { count: number; examples: string[] }>();
  readonly #record: ((reason: string, row: string, count: number) => void) | undefined;

  constructor(record?: (reason: string, row: string, count: number) => void) {
    this.#record = record;
  }

  /** Counts `count` rows (one by default) for `reason`; `example` describes them. */
  add(reason: string, example: string, count = 1): void {
    this.#record?.(reason, example, count);
    let entry = this.#entries.get(reason);
    if (entry === undefined) {
      entry = { count: 0, examples: [] };
      this.#entries.set(reason, entry);
    }
    entry.count += count;
    if (entry.examples.length < EXAMPLES_KEPT) entry.examples.push(example);
  }

  count(reason: string): number {
    return this.#entries.get(reason)?.count ?? 0;
  }

  get total(): number {
    let total = 0;
    for (const { count } of this.#entries.values()) total += count;
    return total;
  }

  entries(): [reason: string, entry: { count: number; examples: readonly string[] }][] {
    return [...this.#entries.entries()];
  }
}

export class PlanReport {
  /** `record` gets every row left out and every row noticed, not only the first examples. */
  constructor(record?: (line: ReportLine) => void) {
    const line = (kind: ReportLine['kind'], category?: Category) =>
      record === undefined
        ? undefined
        : (reason: string, row: string, count: number) =>
            record({
              kind,
              ...(category !== undefined && { category }),
              reason,
              row,
              ...(count !== 1 && { rows: count }),
            });
    this.leftOut = Object.fromEntries(
      CATEGORIES.map((category) => [category, new Tally(line('left out', category))]),
    ) as Record<Category, Tally>;
    this.notes = new Tally(line('noticed'));
  }

  /** Items planned per category. */
  readonly planned: Record<Category, number> = {
    pepper: 0,
    associations: 0,
    invites: 0,
    ephemeralKeys: 0,
    accounts: 0,
    terms: 0,
    sessions: 0,
  };
  /** Rows left out, per category, by reason. */
  readonly leftOut: Record<Category, Tally>;
  /** What was noticed about rows that are imported (sanitized, re-signed, hash mismatches…). */
  readonly notes: Tally;
}
