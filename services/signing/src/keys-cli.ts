#!/usr/bin/env node
// `node dist/keys-cli.js add <version> [--file <key file>]`: see keys-command.ts.
import { ConfigError } from '@tessera/config';
import { keysCli } from './keys-command.js';

keysCli(process.argv.slice(2), process.env, process.stdout).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : err.stack}\n`);
    process.exitCode = err instanceof ConfigError ? 78 : 1;
  },
);
