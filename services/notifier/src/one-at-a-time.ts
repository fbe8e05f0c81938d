/**
 * Runs `run` for `id` once no other call for the same id is under way in this process (its
 * message came twice in the stream, or an in-progress heartbeat was lost and it came again): the
 * call under way finishes first, and the next one sees what it recorded. `working` holds the
 * calls under way, by id.
 */
export async function oneAtATime<T>(
  working: Map<string, Promise<unknown>>,
  id: string,
  run: () => Promise<T>,
): Promise<T> {
  let underWay = working.get(id);
  while (underWay !== undefined) {
    await underWay.catch(() => {}); // its failure is its own caller's to report
    underWay = working.get(id);
  }
  const call = run();
  working.set(id, call);
  try {
    return await call;
  } finally {
    working.delete(id);
  }
}
