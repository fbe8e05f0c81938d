import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '@tessera/db';
import { freePort } from '@tessera/local-infra';
import { sql } from 'kysely';
import { importSummaryOf } from '../system/import-summary.js';
import { REPO_ROOT } from '../system/repo-root.js';
import { eventually, type RunningSystem, removeDataDir, startSystem, tempDataDir } from '../system/running-system.js';

// "An import is resumable after a crash, and nothing is lost": a generated Sydent database imported
// into the running system while the CLI is killed with SIGKILL mid-way, and then, in the run that
// finishes it, the directory is killed with SIGKILL under it (the runner restarts it; the CLI sends
// the batches it lost again). A third run must find every planned item present, and the read model
// must hold exactly the planned associations.
const CLI = join(REPO_ROOT, 'deploy/cli/dist/main.js');
const GENERATOR = join(REPO_ROOT, 'deploy/cli/dist-test/bench/generate-sydent-db.js');
const ASSOCIATIONS = 12_000;
const silentLogger = { info() {}, warn() {}, error() {}, debug() {} } as never;

let files: string;
let dataDir: string;
let system: RunningSystem;
let env: Record<string, string>;
let args: string[];

type Run = { code: number | null; out: string; err: string };

/** The data stage, with `onProgress` told the associations answered so far as they are reported. */
function importData(onProgress: (answered: number, child: ChildProcess) => void = () => {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--stage', 'data'], { env });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      for (const match of chunk.matchAll(/associations: (\d+) answered/g)) onProgress(Number(match[1]), child);
    });
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

before(async () => {
  files = mkdtempSync(join(tmpdir(), 'tessera-import-fault-'));
  const db = join(files, 'sydent.db');
  await new Promise<void>((resolve, reject) =>
    execFile(
      process.execPath,
      [
        GENERATOR,
        db,
        '--associations',
        String(ASSOCIATIONS),
        '--invites',
        '200',
        '--accounts',
        '200',
        '--sessions',
        '0',
      ],
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  dataDir = tempDataDir();
  const admin: Record<string, string> = {};
  for (const service of ['DIRECTORY', 'SESSION', 'INVITE'])
    admin[`TESSERA_${service}_ADMIN_LISTEN`] = `127.0.0.1:${await freePort('127.0.0.1')}`;
  env = { PATH: process.env.PATH ?? '', TESSERA_DATA_DIR: dataDir, ...admin };
  const yaml = join(files, 'tessera.yaml');
  args = ['import', 'sydent', '--db', db, '--config', `${db}.conf`, '--out', yaml];
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args, '--stage', 'config'], { env }, (err, _out, errText) =>
      err ? reject(new Error(errText)) : resolve(),
    ),
  );
  system = await startSystem({ dataDir, env: { TESSERA_CONFIG: yaml, TESSERA_RATE_LIMITS: 'off', ...admin } });
});
after(async () => {
  await system?.stop();
  if (system) removeDataDir(system.dataDir);
  if (files) rmSync(files, { recursive: true, force: true });
});

describe('tessera import sydent under kill -9', () => {
  it('finishes after the CLI and then the directory are killed mid-way, and loses nothing', async () => {
    // 1. The CLI killed once some associations are in.
    const killed = await importData((answered, child) => {
      if (answered >= 2_000 && child.exitCode === null) child.kill('SIGKILL');
    });
    assert.equal(killed.code, null, `the CLI was killed mid-way:\n${killed.err}`);

    // 2. Run again; the directory killed under it once it has answered some.
    let directoryKilled = false;
    const finished = await importData((answered) => {
      if (directoryKilled || answered < 1_000) return;
      directoryKilled = true;
      const pid = system.state().services.directory?.pid;
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
    });
    assert.ok(directoryKilled, `the directory was killed during the second run:\n${finished.err}`);
    assert.equal(finished.code, 0, `the second run finished:\n${finished.out}\n${finished.err}`);
    assert.match(finished.err, /sending that batch again/, 'a lost batch was sent again');
    const second = importSummaryOf(finished.out);
    const [planned = 0, , present = 0] = second.associations ?? [];
    assert.ok(present >= 2_000, 'what the killed run stored is present');

    // 3. A third run finds everything present and appends nothing new.
    const third = await importData();
    assert.equal(third.code, 0, third.err);
    const thirdSummary = importSummaryOf(third.out);
    assert.equal(Object.keys(thirdSummary).length, 7, third.out);
    for (const [category, [total, imported, alsoPresent, refused]] of Object.entries(thirdSummary))
      assert.deepEqual([imported, refused, alsoPresent], [0, 0, total], `${category}: all present`);

    // Nothing lost: the read model holds every planned association, once each.
    const url = system.state().databaseUrl;
    assert.ok(url);
    const db = await openDatabase({ url, poolSize: 1 }, silentLogger);
    try {
      await eventually(
        async () => {
          const { rows } = await sql<{ n: string }>`select count(*) as n from association`.execute(db);
          return Number(rows[0]?.n) === planned;
        },
        30_000,
        `${planned} associations in the read model`,
      );
    } finally {
      await db.destroy();
    }
  });
});
