/**
 * The closing table `tessera import sydent` prints after "sent:": per category, [planned,
 * imported, present, refused].
 */
export function importSummaryOf(out: string): Record<string, number[]> {
  const table: Record<string, number[]> = {};
  const from = out.lastIndexOf('\nsent:\n');
  if (from === -1) return table;
  // After "sent:" comes the header line, then one row per category.
  for (const line of out.slice(from).split('\n').slice(3)) {
    const match = /^ {2}([a-z][a-z ]*?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(line);
    if (match) table[match[1] as string] = match.slice(2).map(Number);
  }
  return table;
}
