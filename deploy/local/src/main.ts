import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, loadConfig } from '@tessera/config';
import { findRepoRoot } from '@tessera/local-infra';
import { prefixedWriter } from './log-prefix.js';
import { LocalRunner } from './runner.js';
import { settingsFromFlags } from './runner-flags.js';

const EXIT_CONFIG = 78;
// Whoever reads our output may go away (`| head`); the children must still be supervised and stopped.
process.stdout.on('error', () => {});
const say = prefixedWriter(process.stdout, 'runner');

let config: Config;
let env: NodeJS.ProcessEnv;
try {
  env = { ...process.env, ...settingsFromFlags(process.argv.slice(2)) };
  config = loadConfig(env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  say(err.message);
  process.exit(EXIT_CONFIG);
}

const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
if (repoRoot === null) {
  say('cannot find the repository (no pnpm-workspace.yaml above the runner)');
  process.exit(1);
}

const runner = new LocalRunner({ config, env, cwd: process.cwd(), out: process.stdout, repoRoot });

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals === 1) {
      void runner.stop(`received ${signal}`, 0);
    } else {
      say(`received ${signal} again: killing everything now`);
      runner.kill();
      process.exit(1);
    }
  });
}

runner.start().catch(() => {
  // start() has reported the problem and is stopping everything; `finished` gives the exit code.
});
process.exit(await runner.finished);
