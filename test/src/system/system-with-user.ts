import { loadSpec, type ObservedFetch, observedFetch } from '../spec/spec-validator.js';
import { registerUser } from './flows.js';
import type { OutsideWorld } from './outside-world.js';
import { type RunningSystem, removeDataDir, startSystem } from './running-system.js';

export interface SystemWithUser {
  system: RunningSystem;
  /** fetch on the system, every JSON answer checked against the spec's schema. */
  call: ObservedFetch;
  /** A v2 account with the terms accepted. */
  user: { token: string; userId: string };
}

/**
 * The whole system on `world`'s settings (and `options.env` over them), and a user to call it as:
 * how most end-to-end files start.
 */
export async function startSystemWithUser(
  world: OutsideWorld,
  options: { env?: Record<string, string>; readyTimeoutMs?: number } = {},
): Promise<SystemWithUser> {
  const system = await startSystem({ ...options, env: { ...world.env, ...options.env } });
  try {
    const call = observedFetch(loadSpec(), { baseUrl: system.baseUrl });
    return { system, call, user: await registerUser(call, world) };
  } catch (err) {
    await stopSystemAndWorld(system, undefined);
    throw err;
  }
}

/** Stops whichever of the two was started, and removes the system's data. */
export async function stopSystemAndWorld(system: RunningSystem | undefined, world: OutsideWorld | undefined) {
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
}
