import { PassThrough } from 'node:stream';
import { runCli } from '../src/cli.js';

/** Runs the CLI in-process with `env`; what it printed on each stream, and its exit code. */
export async function tessera(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: '', err: '' };
  out.on('data', (chunk: Buffer) => {
    text.out += chunk.toString();
  });
  err.on('data', (chunk: Buffer) => {
    text.err += chunk.toString();
  });
  const code = await runCli(argv, { env, out, err });
  return { code, ...text };
}
