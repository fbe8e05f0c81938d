import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { IMPORT_PATHS, type ImportBatchAnswer, type ItemOutcome, type SignatureCheck } from '@tessera/admin-imports';
import { type Config, ConfigSchema, loadConfig } from '@tessera/config';
import { type AdminEndpoint, type AdminService, adminEndpointOf, postAdmin } from './admin-endpoint.js';
import type { CliIo } from './cli.js';
import { UsageError } from './cli.js';
import { checkSigningKey, firstSydentSignedAssociation, type SigningKeyCheck } from './sydent/check-signing-key.js';
import { parseConfig } from './sydent/config-parser.js';
import { type PlanContext, plannedCategories } from './sydent/plan.js';
import { type Category, PlanReport, type ReportLine } from './sydent/plan-report.js';
import { formatPlan, formatSummary } from './sydent/print-report.js';
import { ReportFile } from './sydent/report-file.js';
import { count, emptyTally, type SendTally, sendInBatches } from './sydent/send-import.js';
import { keyFileState, parseSydentSigningKey, signingKeyFileOf, writeKeyFile } from './sydent/signing-key-file.js';
import { openSydentSnapshot, type SydentRows } from './sydent/sydent-db.js';
import { renderTesseraYaml, translateConfig } from './sydent/translate-config.js';
import { writeNewFile } from './write-new-file.js';

const VALUE_FLAGS = [
  'db',
  'config',
  'terms',
  'out',
  'stage',
  'now',
  'concurrency',
  'report',
  'admin-url-directory',
  'admin-url-session',
  'admin-url-invite',
] as const;
type Flags = Partial<Record<(typeof VALUE_FLAGS)[number], string>> & { dryRun: boolean };
const STAGES = ['config', 'data', 'all'] as const;
type Stage = (typeof STAGES)[number];
const DEFAULT_CONCURRENCY = 4;
const PROGRESS_EVERY_MS = 2_000;
/** EX_TEMPFAIL: the config stage is done, the data stage waits for Tessera to run. */
const EXIT_START_TESSERA = 75;
const FILE_MODE = 0o600;

export const IMPORT_USAGE = `import sydent --config <sydent.conf> [--db <sydent.db>] [--terms <terms.yaml>] [--out <tessera.yaml>]
                [--stage config|data|all] [--dry-run] [--now <ms|ISO time>] [--concurrency <n>] [--report <file>]
                [--admin-url-directory|--admin-url-session|--admin-url-invite http://host:port]`;

/** Which service's admin API takes each category, at which path. */
const DESTINATIONS: Record<Exclude<Category, 'pepper'>, { service: AdminService; path: string }> = {
  associations: { service: 'directory', path: IMPORT_PATHS.directory.associations },
  invites: { service: 'invite', path: IMPORT_PATHS.invite.invites },
  ephemeralKeys: { service: 'invite', path: IMPORT_PATHS.invite.ephemeralKeys },
  accounts: { service: 'session', path: IMPORT_PATHS.session.accounts },
  terms: { service: 'session', path: IMPORT_PATHS.session.terms },
  sessions: { service: 'session', path: IMPORT_PATHS.session.sessions },
};

/**
 * `tessera import sydent`: moves a stopped Sydent to Tessera. Stage `config` writes the Tessera
 * YAML translated from sydent.conf and hands Sydent's signing key to signing's key file (before
 * Tessera first starts, so signing never makes a key of its own); stage `data` reads Sydent's
 * database as a snapshot, plans what to carry over (see sydent/plan-*.ts) and sends it, in order,
 * to the admin APIs of directory, invite and session; `all` does both. `--dry-run` prints the
 * plan and writes and sends nothing.
 */
export async function importCommand(args: string[], io: CliIo): Promise<number> {
  const [source, ...rest] = args;
  if (source !== 'sydent') throw new UsageError(`import takes "sydent" (got ${JSON.stringify(source ?? '')})`);
  const flags = parseFlags(rest);
  const stage = (flags.stage ?? 'all') as Stage;
  if (!STAGES.includes(stage)) throw new UsageError(`--stage: config, data or all (got ${flags.stage})`);
  if (flags.config === undefined) throw new UsageError('import sydent needs --config <sydent.conf>');
  if (stage !== 'config' && flags.db === undefined) throw new UsageError(`--stage ${stage} needs --db <sydent.db>`);
  if (stage === 'config' && flags.report !== undefined)
    throw new UsageError('--report lists the rows of the data: stages data and all');
  const now = parseNow(flags.now);
  const concurrency = flags.concurrency === undefined ? DEFAULT_CONCURRENCY : Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    throw new UsageError('--concurrency: a whole number from 1 to 64');

  const translated = translateConfig(parseConfig(readText(flags.config)), {
    ...(flags.terms !== undefined && { termsFile: resolve(flags.terms) }),
  });
  const say = (line: string) => void io.out.write(`${line}\n`);

  if (stage !== 'data') {
    await configStage(translated, flags, io);
    if (stage === 'config') return 0;
  }

  const config = flags.dryRun ? undefined : tesseraConfig(io.env, flags, translated.settings);
  const endpoints = config === undefined ? undefined : resolveEndpoints(config, flags);
  if (endpoints !== undefined && stage === 'all' && !(await allReachable(Object.values(endpoints)))) {
    say(
      'the admin APIs of directory, session and invite do not answer: start Tessera with this configuration ' +
        `(TESSERA_CONFIG=${flags.out ?? '<your tessera.yaml>'}), then run the same command with --stage data`,
    );
    return EXIT_START_TESSERA;
  }
  const snapshot = openSydentSnapshot(flags.db as string);
  let reportFile: ReportFile | undefined;
  const openReport = () => {
    if (flags.report !== undefined) reportFile = new ReportFile(flags.report);
    return new PlanReport(reportFile?.write);
  };
  const reportWritten = () => {
    if (flags.report !== undefined) say(`every row left out, noticed or refused: ${flags.report}`);
  };
  try {
    if (endpoints === undefined) {
      const report = openReport();
      drainPlan(snapshot, { serverName: translated.serverName, now, report });
      io.out.write(formatPlan(report, now));
      reportWritten();
      say('dry run: nothing was sent');
    } else {
      io.err.write('checking that signing holds Sydent’s key: finding a row Sydent signed (reads the associations)…\n');
      const keyCheck = await checkSigningKeyFirst(snapshot, translated.serverName, now, endpoints.directory, {
        sydentKeyId: sydentKeyIdOf(translated.signingKey),
        keyFile: resolve(signingKeyFileOf(config as Config)),
      });
      if (!keyCheck.ok) {
        io.err.write(`tessera import: ${keyCheck.message}\n`);
        return 1;
      }
      say(keyCheck.message);
      const report = openReport();
      const context = { serverName: translated.serverName, now, report };
      const sent = await sendPlan(snapshot, context, endpoints, concurrency, io, reportFile?.write);
      io.out.write(formatPlan(report, now));
      say('sent:');
      io.out.write(formatSummary(report, sent));
      reportWritten();
      const refused = Object.values(sent).reduce((sum, tally) => sum + tally.refused, 0);
      say(refused === 0 ? 'done: every planned item is in Tessera' : `done, with ${refused} refused items (above)`);
      return refused === 0 ? 0 : 1;
    }
  } finally {
    reportFile?.close();
    snapshot.close();
  }
  return 0;
}

function parseFlags(args: string[]): Flags {
  const flags: Flags = { dryRun: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--dry-run') {
      flags.dryRun = true;
      continue;
    }
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0] : undefined;
    if (name === undefined || !(VALUE_FLAGS as readonly string[]).includes(name))
      throw new UsageError(`import sydent: unexpected ${JSON.stringify(arg)}`);
    const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    flags[name as (typeof VALUE_FLAGS)[number]] = value;
  }
  return flags;
}

function parseNow(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms)) throw new UsageError(`--now: milliseconds since 1970 or an ISO time (got ${text})`);
  return ms;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The YAML and the key: checked first, then written (or, with --dry-run, shown). */
async function configStage(translated: ReturnType<typeof translateConfig>, flags: Flags, io: CliIo): Promise<void> {
  const say = (line: string) => void io.out.write(`${line}\n`);
  if (translated.signingKey === '')
    throw new Error(
      '[crypto] ed25519.signingkey is empty: Sydent had no key yet, so there is nothing to keep; let Tessera make one',
    );
  const key = parseSydentSigningKey(translated.signingKey);
  // Where signing will look for the key: the operator's settings, which the YAML carries over.
  for (const name of ['TESSERA_DATA_DIR', 'TESSERA_SIGNING_KEY_FILE'] as const) {
    const value = io.env[name];
    if (value) translated.settings[name] = value;
  }
  const checked = ConfigSchema.safeParse(translated.settings);
  if (!checked.success)
    throw new Error(
      `the translated configuration is not valid for Tessera:\n${checked.error.issues.map((issue) => `  ${String(issue.path[0])}: ${issue.message}`).join('\n')}`,
    );
  const keyFile = resolve(signingKeyFileOf(checked.data));
  const state = await keyFileState(keyFile, key);
  const yaml = renderTesseraYaml(translated, [
    `Tessera configuration translated from ${resolve(flags.config as string)} by tessera import sydent.`,
    `Signing key ${key.keyId}: in ${keyFile} (signing's key store), never in this file.`,
  ]);
  for (const { section, key: name, why } of translated.untranslated)
    io.err.write(`not translated: [${section}] ${name}: ${why}\n`);
  for (const warning of translated.warnings) io.err.write(`warning: ${warning}\n`);
  if (flags.dryRun) {
    io.out.write(flags.out === undefined ? yaml : `would write ${flags.out}:\n${yaml}`);
    say(
      state === 'identical' ? `${keyFile} already holds ${key.keyId}` : `would write ${key.keyId} to ${keyFile} (0600)`,
    );
    return;
  }
  if (flags.out === undefined) io.out.write(yaml);
  else {
    await writeConfigFile(flags.out, yaml);
    say(`wrote ${flags.out}`);
  }
  if (state === 'write') {
    await writeKeyFile(keyFile, key);
    say(`wrote ${key.keyId} to ${keyFile} (0600): start signing with this file and it serves Sydent's key`);
  } else say(`${keyFile} already holds ${key.keyId}: left as it is`);
}

/** Writes the YAML (0600: it may hold SMTP and SMS passwords); an identical file is left alone, another refused. */
async function writeConfigFile(file: string, yaml: string): Promise<void> {
  let existing: string | undefined;
  try {
    existing = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing === yaml) return;
  if (existing !== undefined) throw new Error(`${file} exists with other settings: move it away or give another --out`);
  await writeNewFile(resolve(file), yaml, FILE_MODE, 0o755);
}

/**
 * The settings the admin APIs are found with, the environment over each: TESSERA_CONFIG's file,
 * else the --out file when it is there (the config stage wrote it, admin APIs on), else the
 * settings this run translated.
 */
function tesseraConfig(env: NodeJS.ProcessEnv, flags: Flags, translated: Record<string, string>): Config {
  if (env.TESSERA_CONFIG) return loadConfig(env);
  if (flags.out !== undefined && existsSync(flags.out)) return loadConfig({ ...env, TESSERA_CONFIG: flags.out });
  return loadConfig({ ...translated, ...env });
}

function resolveEndpoints(config: Config, flags: Flags): Record<AdminService, AdminEndpoint> {
  const of = (service: AdminService) =>
    adminEndpointOf(service, config, flags[`admin-url-${service}`], process.cwd(), `--admin-url-${service}`);
  return { directory: of('directory'), session: of('session'), invite: of('invite') };
}

async function allReachable(endpoints: AdminEndpoint[]): Promise<boolean> {
  const reachable = (endpoint: AdminEndpoint) =>
    new Promise<boolean>((done) => {
      const url = new URL(endpoint.url);
      const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || 80 });
      socket.setTimeout(5_000, () => socket.destroy());
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
      socket.once('close', () => done(false));
    });
  return (await Promise.all(endpoints.map(reachable))).every(Boolean);
}

/** Before anything is sent: does signing sign a row Sydent signed exactly as Sydent did? */
function checkSigningKeyFirst(
  rows: SydentRows,
  serverName: string,
  now: number,
  directory: AdminEndpoint,
  where: { sydentKeyId: string; keyFile: string },
): Promise<SigningKeyCheck> {
  const probe = firstSydentSignedAssociation(rows, { serverName, now });
  return checkSigningKey(
    probe,
    async (request) => (await postAdmin(directory, IMPORT_PATHS.directory.checkSignature, request)) as SignatureCheck,
    where,
  );
}

/** For messages only: the key id of Sydent's `[crypto] ed25519.signingkey`. */
function sydentKeyIdOf(signingKey: string): string {
  try {
    return parseSydentSigningKey(signingKey).keyId;
  } catch {
    return 'its key';
  }
}

function drainPlan(rows: SydentRows, context: PlanContext): void {
  for (const [, planned] of plannedCategories(rows, context)) for (const _ of planned());
}

async function sendPlan(
  rows: SydentRows,
  context: PlanContext,
  endpoints: Record<AdminService, AdminEndpoint>,
  concurrency: number,
  { err }: CliIo,
  record?: (line: ReportLine) => void,
): Promise<Partial<Record<Category, SendTally>>> {
  const refusedTo = (category: Category) =>
    record && ((row: string, reason: string) => record({ kind: 'refused', category, reason, row }));
  const sent: Partial<Record<Category, SendTally>> = {};
  for (const [category, planned] of plannedCategories(rows, context)) {
    if (category === 'pepper') {
      // One request of its own: the pepper is a single item, answered with a single outcome.
      for (const pepper of planned()) {
        const answer = (await postAdmin(
          endpoints.directory,
          IMPORT_PATHS.directory.pepper,
          pepper.item,
        )) as ItemOutcome;
        sent.pepper = emptyTally();
        count(sent.pepper, answer, pepper.label, refusedTo('pepper'));
      }
      continue;
    }
    const { service, path } = DESTINATIONS[category];
    err.write(`${category}: reading and sending to ${service}…\n`); // associations read the tables twice first
    const started = Date.now();
    let lastProgress = started;
    sent[category] = await sendInBatches(
      planned(),
      async (items) => ((await postAdmin(endpoints[service], path, { items })) as ImportBatchAnswer).outcomes,
      {
        concurrency,
        onRefused: refusedTo(category),
        onRetry: (failure, delayMs) =>
          err.write(`${category}: ${failure.message}; sending that batch again in ${delayMs / 1000} s\n`),
        onBatch: (tally) => {
          if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
          lastProgress = Date.now();
          const done = tally.imported + tally.present + tally.refused;
          const rate = Math.round(done / ((Date.now() - started) / 1000));
          err.write(
            `${category}: ${done} answered (${tally.imported} imported, ${tally.present} present, ${tally.refused} refused), ${rate}/s\n`,
          );
        },
      },
    );
  }
  return sent;
}
