import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { IMPORT_PATHS, MAX_IMPORT_BATCH, type SignatureCheck } from '@tessera/admin-imports';
import { loadConfig } from '@tessera/config';
import { tessera } from '../test-support/run-tessera.js';
import { SAMPLE_DIR as SAMPLE } from '../test-support/sydent-sample.js';
import { AdminApiError, AdminApiUnreachable } from './admin-endpoint.js';
import { NOTES, REASONS } from './sydent/plan-associations.js';
import type { ReportLine } from './sydent/plan-report.js';
import { sendInBatches } from './sydent/send-import.js';

const CAPTURED_AT = '1796186273288';
const SELF = 'id.example.test';
/** Sydent's signature of the sample's first clean own row (global 1, alice). */
const ALICE_SIGNATURE = '07Rxiagj3hVefftUN9nFa9xDe2loduzD6CrE5xUkQsLOP93XfJHr+YWyVRx3fVWdkf8zG4mwbDEkL8y9oicSCQ';

type Signed = { association?: { mxid?: string; signatures?: Record<string, unknown> } };

/**
 * A stand-in for the three admin APIs: records each request; `imported` once per item, then
 * `present`. An imported association answers `ourSignature` as a directory holding Sydent's key
 * would (`same` when Sydent's signature was given, else `added`), `changed` for `changedMxid`'s;
 * check-signature answers `keyCheck`.
 */
function fakeAdminApi() {
  const requests: { path: string; body: Record<string, unknown> }[] = [];
  const seen = new Set<string>();
  const fake = {
    requests,
    /** What was imported so far: forgotten, a fresh directory. */
    seen,
    keyCheck: 'same' as SignatureCheck['ourSignature'],
    changedMxid: undefined as string | undefined,
    /** Every item sent to this path is refused. */
    refusePath: undefined as string | undefined,
    server: undefined as unknown as Server,
  };
  const signatureOf = (item: Signed) =>
    item.association?.mxid === fake.changedMxid
      ? 'changed'
      : item.association?.signatures?.[SELF] === undefined
        ? 'added'
        : 'same';
  fake.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
      const path = req.url ?? '';
      requests.push({ path, body });
      const outcomeOf = (item: unknown) => {
        const key = `${path} ${JSON.stringify(item)}`;
        const outcome = seen.has(key) ? 'present' : 'imported';
        seen.add(key);
        if (path === fake.refusePath) return { outcome: 'refused', reason: 'refused by the test' };
        if (path !== IMPORT_PATHS.directory.associations || outcome === 'present') return { outcome };
        return { outcome, ourSignature: signatureOf(item as Signed) };
      };
      const answer =
        path === IMPORT_PATHS.directory.checkSignature
          ? ({ keyId: 'ed25519:0', ourSignature: fake.keyCheck } satisfies SignatureCheck)
          : Array.isArray(body.items)
            ? { outcomes: body.items.map(outcomeOf) }
            : outcomeOf(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  return fake;
}

describe('tessera import sydent', () => {
  let dir: string;
  let api: ReturnType<typeof fakeAdminApi>;
  let url: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-import-'));
    api = fakeAdminApi();
    await new Promise<void>((done) => api.server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    api?.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    api.requests.length = 0;
    api.seen.clear();
    api.keyCheck = 'same';
    api.changedMxid = undefined;
    api.refusePath = undefined;
  });
  const adminFlags = () => ['--admin-url-directory', url, '--admin-url-session', url, '--admin-url-invite', url];
  const sample = [
    '--config',
    `${SAMPLE}/sydent.conf`,
    '--db',
    `${SAMPLE}/sydent.db`,
    '--terms',
    `${SAMPLE}/terms.yaml`,
  ];
  /** The data stage of the sample at its capture, sent to the fake. */
  const dataStage = (...extra: string[]) => [
    'import',
    'sydent',
    ...sample,
    '--stage',
    'data',
    '--now',
    CAPTURED_AT,
    ...extra,
    ...adminFlags(),
  ];

  it('--dry-run prints the plan and the YAML, and writes and sends nothing', async () => {
    const data = join(dir, 'dry');
    const out = join(dir, 'dry.yaml');
    const run = await tessera(
      ['import', 'sydent', ...sample, '--out', out, '--dry-run', '--now', CAPTURED_AT, ...adminFlags()],
      { TESSERA_DATA_DIR: data },
    );
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /associations +10 +4/);
    assert.match(run.out, /sessions +9 +0/);
    assert.match(run.out, /1 × superseded: the address was bound again later\n +global 9 /);
    assert.match(run.out, /TESSERA_SERVER_NAME: "id.example.test"/);
    assert.match(run.out, /would write ed25519:0 to .*signing\.key/);
    assert.match(run.out, /dry run: nothing was sent/);
    assert.equal(api.requests.length, 0);
    assert.ok(!existsSync(out) && !existsSync(data), 'nothing written');
  });

  it('--stage config writes a YAML Tessera loads and the key file, and accepts the same key again', async () => {
    const data = join(dir, 'config');
    const out = join(dir, 'config.yaml');
    const args = ['import', 'sydent', '--config', `${SAMPLE}/sydent.conf`, '--stage', 'config', '--out', out];
    const first = await tessera(args, { TESSERA_DATA_DIR: data });
    assert.equal(first.code, 0, first.err);
    assert.match(first.err, /not translated: \[sms\] smsrule\.7/);
    assert.equal(loadConfig({ TESSERA_CONFIG: out }).TESSERA_SERVER_NAME, 'id.example.test');
    assert.equal(loadConfig({ TESSERA_CONFIG: out }).TESSERA_DATA_DIR, data);
    assert.equal(loadConfig({ TESSERA_CONFIG: out }).TESSERA_SESSION_ADMIN_LISTEN, '127.0.0.1:8091');
    assert.equal(loadConfig({ TESSERA_CONFIG: out }).TESSERA_INVITE_ADMIN_LISTEN, '127.0.0.1:8092');
    const keyFile = join(data, 'signing', 'signing.key');
    assert.equal(await readFile(keyFile, 'utf8'), 'ed25519 0 nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y\n');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const again = await tessera(args, { TESSERA_DATA_DIR: data });
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /already holds ed25519:0: left as it is/);
    assert.equal(api.requests.length, 0);
  });

  it('refuses to replace a key file that holds another key, naming its key id only', async () => {
    const keyFile = join(dir, 'generated.key');
    await writeFile(keyFile, 'ed25519 0 XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI\n', { mode: 0o600 });
    const run = await tessera(['import', 'sydent', '--config', `${SAMPLE}/sydent.conf`, '--stage', 'config'], {
      TESSERA_SIGNING_KEY_FILE: keyFile,
    });
    assert.equal(run.code, 1);
    assert.match(run.err, /already holds key ed25519:0, not Sydent's ed25519:0 alone/);
    assert.doesNotMatch(run.err + run.out, /XGX0|nVZ\+/);
  });

  it('--stage data sends every category in order, in batches, and a second run finds everything present', async () => {
    const args = dataStage();
    const first = await tessera(args);
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(
      api.requests.map(({ path }) => path),
      [
        IMPORT_PATHS.directory.checkSignature,
        IMPORT_PATHS.directory.pepper,
        IMPORT_PATHS.directory.associations,
        IMPORT_PATHS.invite.invites,
        IMPORT_PATHS.invite.ephemeralKeys,
        IMPORT_PATHS.session.accounts,
        IMPORT_PATHS.session.terms,
        IMPORT_PATHS.session.sessions,
      ],
    );
    const probe = api.requests[0]?.body.association as Signed['association'] & { address: string };
    assert.equal(probe.address, 'alice@example.org');
    assert.deepEqual(probe.signatures, { [SELF]: { 'ed25519:0': ALICE_SIGNATURE } });
    assert.match(first.out, /signing holds Sydent’s key ed25519:0/);
    assert.deepEqual(api.requests[1]?.body, { pepper: 'nGwAB' });
    assert.equal((api.requests[2]?.body.items as unknown[] | undefined)?.length, 10);
    assert.match(first.out, /associations +10 +10 +0 +0/);
    // alice, carol, bob and erin kept Sydent's signature; the four stripped rows and the two peers' had none of ours.
    assert.match(first.out, /association signatures: 4 same as Sydent's, 0 changed, 6 added/);
    assert.doesNotMatch(first.out, /warning/);
    assert.match(first.out, /done: every planned item is in Tessera/);
    const second = await tessera(args);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /associations +10 +0 +10 +0/);
    assert.match(second.out, /sessions +9 +0 +9 +0/);
  });

  it('sends nothing when signing does not sign a row Sydent signed as Sydent did, and says what to do', async () => {
    for (const answer of ['changed', 'added'] as const) {
      api.requests.length = 0;
      api.keyCheck = answer;
      const run = await tessera(dataStage(), { TESSERA_DATA_DIR: join(dir, 'other-key') });
      assert.equal(run.code, 1, run.out);
      assert.match(run.err, /signing does not hold Sydent’s key: it signs with ed25519:0/);
      assert.match(
        run.err,
        /Stop Tessera, put Sydent’s key in signing’s key file \(.*other-key\/signing\/signing\.key/,
      );
      assert.match(run.err, /Nothing was sent/);
      assert.deepEqual(
        api.requests.map(({ path }) => path),
        [IMPORT_PATHS.directory.checkSignature],
      );
    }
  });

  it('warns about every association whose signature came back changed', async () => {
    api.changedMxid = '@carol:127.0.0.1:8492';
    const run = await tessera(dataStage());
    assert.equal(run.code, 0, run.err);
    assert.match(run.out, /association signatures: 3 same as Sydent's, 1 changed, 6 added/);
    assert.match(
      run.out,
      /warning: 1 associations came back with a signature other than Sydent's.*\n +global \d+ .*@carol:/,
    );
  });

  it('--stage all without running admin APIs writes the config and asks to start Tessera, then --stage data', async () => {
    const data = join(dir, 'all');
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((done) => closed.close(() => done()));
    const flags = [
      '--admin-url-directory',
      closedUrl,
      '--admin-url-session',
      closedUrl,
      '--admin-url-invite',
      closedUrl,
    ];
    const run = await tessera(['import', 'sydent', ...sample, '--out', join(dir, 'all.yaml'), ...flags], {
      TESSERA_DATA_DIR: data,
    });
    assert.equal(run.code, 75, run.err);
    assert.match(run.out, /start Tessera with this configuration.*--stage data/);
    assert.ok(existsSync(join(data, 'signing', 'signing.key')));
  });

  it('--stage data finds the admin APIs in the --out YAML, and in TESSERA_CONFIG’s over it', async () => {
    const generated = join(dir, 'generated.yaml');
    const config = ['import', 'sydent', '--config', `${SAMPLE}/sydent.conf`, '--stage', 'config', '--out', generated];
    assert.equal((await tessera(config, { TESSERA_DATA_DIR: join(dir, 'yaml-data') })).code, 0);
    const withListen = async (name: string, listen: string) => {
      const yaml = (await readFile(generated, 'utf8')).replace(
        /^(TESSERA_(DIRECTORY|SESSION|INVITE)_ADMIN_LISTEN): .*$/gm,
        `$1: "${listen}"`,
      );
      await writeFile(join(dir, name), yaml);
      return join(dir, name);
    };
    const fake = await withListen('fake.yaml', new URL(url).host);
    const closed = await withListen('closed.yaml', '127.0.0.1:1');
    const data = ['import', 'sydent', ...sample, '--stage', 'data', '--now', CAPTURED_AT];
    const fromOut = await tessera([...data, '--out', fake]);
    assert.equal(fromOut.code, 0, fromOut.err);
    assert.equal(api.requests.filter(({ path }) => path === IMPORT_PATHS.session.sessions).length, 1);
    assert.equal(api.requests.filter(({ path }) => path === IMPORT_PATHS.invite.invites).length, 1);
    api.requests.length = 0;
    const fromEnv = await tessera([...data, '--out', closed], { TESSERA_CONFIG: fake });
    assert.equal(fromEnv.code, 0, fromEnv.err);
    assert.equal(api.requests.filter(({ path }) => path === IMPORT_PATHS.session.sessions).length, 1);
    const closedOnly = await tessera([...data, '--out', closed]);
    assert.equal(closedOnly.code, 1);
    assert.match(closedOnly.err, /cannot reach the directory admin API at http:\/\/127\.0\.0\.1:1/);
    // No such file yet: the settings translated now serve (the flags name the APIs here).
    const notYet = await tessera([...data, '--out', join(dir, 'not-yet.yaml'), ...adminFlags()]);
    assert.equal(notYet.code, 0, notYet.err);
  });

  it('--report writes every row left out, noticed or refused, one JSON line each, 0600', async () => {
    const file = join(dir, 'report.jsonl');
    await writeFile(file, 'an older report\n', { mode: 0o644 });
    api.refusePath = IMPORT_PATHS.session.sessions;
    const run = await tessera(dataStage('--report', file));
    assert.equal(run.code, 1, 'sessions were refused');
    assert.match(run.out, /every row left out, noticed or refused: .*report\.jsonl/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const lines = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as ReportLine);
    const of = (kind: ReportLine['kind'], category?: string) =>
      lines.filter((line) => line.kind === kind && line.category === category);
    assert.equal(of('left out', 'associations').length, 4);
    assert.match(
      of('left out', 'associations').find(({ reason }) => reason === REASONS.supersededOwn)?.row ?? '',
      /^global 9 .*@ivan:/,
    );
    assert.equal(of('noticed').filter(({ reason }) => reason === NOTES.stripped).length, 4);
    assert.deepEqual(
      of('refused', 'sessions').map(({ reason }) => reason),
      Array(9).fill('refused by the test'),
    );
    assert.equal(lines.length, of('left out', 'associations').length + of('noticed').length + 9, 'nothing else');
    const dry = await tessera(['import', 'sydent', ...sample, '--dry-run', '--now', CAPTURED_AT, '--report', file]);
    assert.equal(dry.code, 0, dry.err);
    assert.ok(!(await readFile(file, 'utf8')).includes('"refused"'), 'rewritten: a dry run refuses nothing');
  });

  it('names what is wrong with the command line', async () => {
    assert.equal((await tessera(['import', 'sydent'])).code, 64);
    assert.equal((await tessera(['import', 'sydent', '--config', 'x', '--stage', 'data'])).code, 64);
    assert.equal((await tessera(['import', 'sydent', '--config', 'x', '--stage', 'later'])).code, 64);
    assert.match((await tessera(['import', 'sydent', '--config', 'x', '--now', 'soon'])).err, /--now/);
    assert.equal((await tessera(['import', 'synapse'])).code, 64);
    assert.equal((await tessera(['import', 'sydent', '--config', 'x', '--stage', 'config', '--report', 'r'])).code, 64);
  });
});

describe('sending planned items', () => {
  const planned = (count: number) => Array.from({ length: count }, (_, i) => ({ label: `row ${i}`, item: i }));

  it('sends at most MAX_IMPORT_BATCH items a request, with no more requests in flight than asked', async () => {
    const sizes: number[] = [];
    let inFlight = 0;
    let most = 0;
    const tally = await sendInBatches(
      planned(2 * MAX_IMPORT_BATCH + 500),
      async (items) => {
        sizes.push(items.length);
        most = Math.max(most, ++inFlight);
        await new Promise((done) => setImmediate(done));
        inFlight--;
        return items.map((item) =>
          item % 1000 === 7 ? { outcome: 'refused', reason: 'bad' } : { outcome: 'imported' },
        );
      },
      { concurrency: 2 },
    );
    assert.deepEqual(sizes, [MAX_IMPORT_BATCH, MAX_IMPORT_BATCH, 500]);
    assert.equal(most, 2);
    assert.equal(tally.imported, 2 * MAX_IMPORT_BATCH + 497);
    assert.equal(tally.refused, 3);
    assert.deepEqual(tally.refusals[0], { label: 'row 7', reason: 'bad' });
  });

  it('sends a batch again when the service could not be reached or answered 503, and gives up when that lasts', async () => {
    const failures = [
      new AdminApiUnreachable('cannot reach the directory admin API: socket hang up'),
      new AdminApiError(503, 'M_UNKNOWN', 'stored but not yet visible'),
    ];
    const retried: string[] = [];
    let calls = 0;
    const tally = await sendInBatches(
      planned(10),
      async (items) => {
        calls++;
        const failure = failures.shift();
        if (failure) throw failure;
        return items.map(() => ({ outcome: 'imported' as const }));
      },
      { concurrency: 1, retryDelaysMs: [1, 1, 1], onRetry: (err) => retried.push(err.message) },
    );
    assert.equal(tally.imported, 10);
    assert.equal(calls, 3);
    assert.equal(retried.length, 2);
    await assert.rejects(
      sendInBatches(
        planned(10),
        async () => {
          throw new AdminApiUnreachable('connection refused');
        },
        { concurrency: 1, retryDelaysMs: [1, 1] },
      ),
      /connection refused/,
    );
    let refusedCalls = 0;
    await assert.rejects(
      sendInBatches(
        planned(10),
        async () => {
          refusedCalls++;
          throw new AdminApiError(400, 'M_BAD_JSON', 'bad batch');
        },
        { concurrency: 1, retryDelaysMs: [1, 1] },
      ),
      /bad batch/,
    );
    assert.equal(refusedCalls, 1, 'a 4xx is not sent again');
  });

  it('stops at a failed request and says so, so that running again finishes the job', async () => {
    let calls = 0;
    await assert.rejects(
      sendInBatches(
        planned(5 * MAX_IMPORT_BATCH),
        async (items) => {
          calls++;
          if (calls === 2) throw new Error('connection reset');
          return items.map(() => ({ outcome: 'imported' as const }));
        },
        { concurrency: 1 },
      ),
      /connection reset/,
    );
    assert.equal(calls, 2, 'nothing sent after the failure');
    await assert.rejects(
      sendInBatches(planned(3), async () => [{ outcome: 'imported' as const }], { concurrency: 1 }),
      /answered 1 outcomes for 3 items/,
    );
  });
});
