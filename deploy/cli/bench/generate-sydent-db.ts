// `pnpm --filter @tessera/cli bench:generate <out.db> [--associations N] [--invites N] [--accounts N]
// [--sessions N] [--mixed-case] [--now ms]`: a synthetic Sydent database (see sydent-db-generator.ts)
// and a sydent.conf for it (`<out.db>.conf`: its server name and a throwaway key).
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SAMPLE_DB } from '../test-support/sydent-sample.js';
import { generateSydentDb, newBenchSeed, writeBenchSydentConf } from './sydent-db-generator.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    associations: { type: 'string', default: '1000000' },
    invites: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '100000' },
    sessions: { type: 'string', default: '10000' },
    'mixed-case': { type: 'boolean', default: false },
    now: { type: 'string' },
    'schema-from': { type: 'string', default: SAMPLE_DB },
  },
});
const [file] = positionals;
if (file === undefined) throw new Error('usage: generate-sydent-db <out.db> [--associations N] … [--mixed-case]');
if (existsSync(file)) throw new Error(`${file} exists: the generator writes a new database`);
const started = performance.now();
const now = values.now === undefined ? Date.now() : Number(values.now);
const signingSeed = newBenchSeed();
const generated = generateSydentDb(file, {
  associations: Number(values.associations),
  invites: Number(values.invites),
  accounts: Number(values.accounts),
  sessions: Number(values.sessions),
  mixedCase: values['mixed-case'],
  now,
  schemaFrom: values['schema-from'],
  signingSeed,
});
writeBenchSydentConf(`${file}.conf`, signingSeed);
console.log(
  `wrote ${file} (and ${file}.conf) in ${((performance.now() - started) / 1000).toFixed(1)} s: ${generated.localRows} local and ` +
    `${generated.globalRows} global association rows (${generated.expectedLive} live addresses, ` +
    `${generated.mixedCaseDuplicates} mixed-case duplicates), ${values.invites} invites and ephemeral keys, ` +
    `${values.accounts} accounts, ${values.sessions} sessions; --now ${now}`,
);
