#!/usr/bin/env node
import { runCli } from './cli.js';

// Whoever reads our output may go away (`| head`): the command still finishes its work.
process.stdout.on('error', () => {});
process.exitCode = await runCli(process.argv.slice(2), { env: process.env, out: process.stdout, err: process.stderr });
