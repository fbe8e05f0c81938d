import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Config, ConfigError } from '@tessera/config';
import {
  authorizationConfig,
  connectAsAdmin,
  ensureIdentityFiles,
  IDENTITY_NAMES,
  type IdentityName,
  isIdentityName,
  provision,
  provisionSettingsOf,
  readCredentialsFile,
} from '@tessera/nats-access';
import type { NatsConnection } from 'nats';

/** Which credentials file each NATS identity uses under this runner; all absent without any. */
export interface RunnerIdentities {
  /** The directory they are in, or null: an outside NATS reached without credentials. */
  dir: string | null;
  /** The credentials file of an identity, if the runner has one. */
  fileOf(identity: IdentityName): string | undefined;
  /** Every file, so that the plan can check each one reaches its own service only. */
  files: ReadonlyMap<IdentityName, string>;
}

/**
 * For the runner's own NATS: one nkey per identity in TESSERA_NATS_IDENTITIES_DIR (default
 * `<data>/nats/identities`), made once and kept (0600 in a 0700 directory), and the `authorization`
 * block that admits exactly those keys with their permissions.
 */
export async function ownNatsIdentities(
  settings: Readonly<Record<string, string>>,
  dataDir: string,
  cwd: string,
): Promise<{ identities: RunnerIdentities; authorization: string }> {
  const dir = identitiesDirOf(settings, cwd) ?? join(dataDir, 'nats', 'identities');
  const made = await ensureIdentityFiles(dir);
  const files = new Map(made.map(({ identity, file }) => [identity, file] as const));
  return {
    identities: { dir, fileOf: (identity) => files.get(identity), files },
    authorization: authorizationConfig(made),
  };
}

/**
 * For an outside NATS (TESSERA_NATS_URL): the credentials an operator put in
 * TESSERA_NATS_IDENTITIES_DIR (`<identity>.nk` or `<identity>.creds`), or none at all.
 */
export function outsideNatsIdentities(settings: Readonly<Record<string, string>>, cwd: string): RunnerIdentities {
  const dir = identitiesDirOf(settings, cwd);
  const files = new Map<IdentityName, string>();
  if (dir !== null) {
    if (!existsSync(dir)) throw new ConfigError(`TESSERA_NATS_IDENTITIES_DIR: ${dir} does not exist`);
    for (const identity of IDENTITY_NAMES) {
      const file = [`${identity}.nk`, `${identity}.creds`]
        .map((name) => join(dir, name))
        .find((path) => existsSync(path));
      if (file !== undefined) files.set(identity, file);
    }
  }
  return { dir, fileOf: (identity) => files.get(identity), files };
}

/** The services' credentials must exist for every service the runner starts. */
export function requireServiceCredentials(identities: RunnerIdentities, services: readonly string[]): void {
  if (identities.dir === null) return;
  const missing = services.filter((name) => isIdentityName(name) && identities.fileOf(name) === undefined);
  if (missing.length > 0)
    throw new ConfigError(
      `TESSERA_NATS_IDENTITIES_DIR: ${identities.dir} has no credentials for ${missing.join(', ')} ` +
        '(<identity>.nk or <identity>.creds)',
    );
}

function identitiesDirOf(settings: Readonly<Record<string, string>>, cwd: string): string | null {
  const configured = settings.TESSERA_NATS_IDENTITIES_DIR;
  return configured ? resolve(cwd, configured) : null;
}

/** A short-lived connection as admin (or without credentials, when the runner has none for it). */
function runnerAsAdmin(url: string, identities: RunnerIdentities): Promise<NatsConnection> {
  const file = identities.fileOf('admin');
  return connectAsAdmin(url, file === undefined ? undefined : readCredentialsFile(file), 'tessera-runner');
}

/** Whether JetStream answers admin yet: the readiness of the runner's own NATS, which has no monitoring endpoint. */
export async function jetStreamAnswers(url: string, identities: RunnerIdentities): Promise<boolean> {
  try {
    const nc = await runnerAsAdmin(url, identities);
    try {
      await nc.jetstreamManager(); // asks $JS.API.INFO
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
}

/** Runs `tessera provision` in-process, as admin: returns what it did, in one line. */
export async function provisionNats(url: string, identities: RunnerIdentities, config: Config): Promise<string> {
  const nc = await runnerAsAdmin(url, identities);
  try {
    const done = await provision(nc, provisionSettingsOf(config));
    return done.map(({ kind, name, action }) => `${kind} ${name} ${action}`).join(', ');
  } finally {
    await nc.close();
  }
}
