import { spawn } from 'node:child_process';

export interface Exited {
  code: number | null;
  stderr: string;
}

/**
 * Runs a service's main script with only PATH and `env` in its environment, until it exits (or
 * SIGKILL after `timeoutMs`): how tests check that a bad setting stops a service with its name.
 */
export function runToExit(mainScript: string, env: Record<string, string>, timeoutMs = 15_000): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainScript], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
