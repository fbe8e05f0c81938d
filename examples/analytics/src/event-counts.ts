/** One event as analytics sees it: its type and when it happened. */
export type CountedEvent = { type: string; at: Date };

/** Counts per hour (UTC, `YYYY-MM-DD HH:00`), then per event type. */
export type HourlyCounts = Map<string, Map<string, number>>;

export function hourOf(at: Date): string {
  return `${at.toISOString().slice(0, 13).replace('T', ' ')}:00`;
}

export function addEvent(counts: HourlyCounts, { type, at }: CountedEvent): void {
  const hour = hourOf(at);
  const perType = counts.get(hour) ?? new Map<string, number>();
  counts.set(hour, perType);
  perType.set(type, (perType.get(type) ?? 0) + 1);
}

/** The rows of the report: hours in order, and within an hour the event types by name. */
export function rowsOf(counts: HourlyCounts): { hour: string; type: string; count: number }[] {
  return [...counts.keys()]
    .sort()
    .flatMap((hour) =>
      [...(counts.get(hour) ?? new Map<string, number>())]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, count]) => ({ hour, type, count })),
    );
}

export function formatTable(counts: HourlyCounts): string {
  const rows = rowsOf(counts);
  const typeWidth = Math.max('event type'.length, ...rows.map((row) => row.type.length));
  const lines = [`${'hour (UTC)'.padEnd(16)}  ${'event type'.padEnd(typeWidth)}  ${'count'.padStart(7)}`];
  for (const { hour, type, count } of rows)
    lines.push(`${hour}  ${type.padEnd(typeWidth)}  ${count.toLocaleString('en').padStart(7)}`);
  return lines.join('\n');
}
