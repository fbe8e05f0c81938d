import { spawn } from 'node:child_process';
import type { LogFn } from './output-lines.js';
import { OutputLines } from './output-lines.js';

/** Whom to run a command as: the current user (null) or a given uid/gid. */
export type RunAs = { uid: number; gid: number } | null;

/** Runs a command to completion; resolves with its stdout, rejects with its last output lines. */
export function runCommand(
  file: string,
  args: readonly string[],
  o: { runAs?: RunAs; log?: LogFn; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const output = new OutputLines(o.log ?? (() => {}));
    const child = spawn(file, args, {
      cwd: '/', // reachable by whichever user runs it
      env: o.env ?? process.env,
      stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      timeout: o.timeoutMs ?? 120_000,
      ...(o.runAs ? { uid: o.runAs.uid, gid: o.runAs.gid } : {}),
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    output.follow(child.stderr);
    if (o.input !== undefined) {
      child.stdin?.on('error', () => {}); // a command that exits without reading its input: its exit code tells
      child.stdin?.end(o.input);
    }
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else {
        const status = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
        reject(new Error(`${file} ${args.join(' ')} ${status}:\n${output.tail()}\n${stdout.slice(-2_000)}`));
      }
    });
  });
}

/** True when the command exits with 0; never throws. */
export function succeeds(file: string, args: readonly string[], o: { runAs?: RunAs; env?: NodeJS.ProcessEnv } = {}) {
  return runCommand(file, args, { ...o, timeoutMs: 10_000 }).then(
    () => true,
    () => false,
  );
}
