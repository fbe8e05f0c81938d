import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findRepoRoot } from './repo-root.js';

const run = promisify(execFile);

// sync_interval (needed for `sync_interval: always`, see DESIGN.md) first exists in 2.10.
const MIN_MAJOR = 2;
const MIN_MINOR = 10;

/** Reads "nats-server: v2.10.27" (or "2.10.27"); null when the text holds no version. */
export function parseNatsServerVersion(text: string): { major: number; minor: number; patch: number } | null {
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (match === null) return null;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

async function versionOf(bin: string): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(bin, ['--version'], { timeout: 10_000 });
    return `${stdout}${stderr}`.trim();
  } catch {
    return null; // missing or not executable
  }
}

/**
 * The nats-server to run: TESSERA_NATS_SERVER_BIN, then the repository's .tools/bin/nats-server,
 * then `nats-server` on PATH; the first one that reports version 2.10 or newer.
 */
export async function findNatsServerBinary(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const root = findRepoRoot();
  return pickNatsServerBinary([
    ...(env.TESSERA_NATS_SERVER_BIN ? [env.TESSERA_NATS_SERVER_BIN] : []),
    ...(root === null ? [] : [join(root, '.tools/bin/nats-server')]),
    'nats-server',
  ]);
}

/** The first of `candidates` that runs and reports version 2.10 or newer. */
export async function pickNatsServerBinary(candidates: readonly string[]): Promise<string> {
  const rejected: string[] = [];
  for (const bin of candidates) {
    const output = await versionOf(bin);
    if (output === null) {
      rejected.push(`${bin}: not found`);
      continue;
    }
    const version = parseNatsServerVersion(output);
    if (
      version !== null &&
      (version.major > MIN_MAJOR || (version.major === MIN_MAJOR && version.minor >= MIN_MINOR))
    ) {
      return bin;
    }
    rejected.push(`${bin}: ${JSON.stringify(output)} is too old`);
  }
  throw new Error(
    `no nats-server ${MIN_MAJOR}.${MIN_MINOR} or newer found (${rejected.join('; ')}); ` +
      'run scripts/ensure-nats-server.sh or set TESSERA_NATS_SERVER_BIN',
  );
}
