import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import type { ConfigKey } from '@tessera/config';
import type { ParsedConfig } from './config-parser.js';

/** A Sydent setting Tessera gets no equivalent of, and why. */
export type Untranslated = { section: string; key: string; why: string };

export type TranslatedConfig = {
  /** Tessera settings (TESSERA_* names, string values as the YAML file holds them). */
  settings: Partial<Record<ConfigKey, string>>;
  untranslated: Untranslated[];
  /** Translated, but the operator should look at it. */
  warnings: string[];
  /** A comment the YAML puts above a setting. */
  comments: Partial<Record<ConfigKey, string>>;
  serverName: string;
  /** `[crypto] ed25519.signingkey` as written (empty when Sydent had none). */
  signingKey: string;
};

/** The translation cannot go on: the Tessera server would not be the same server. */
export class UntranslatableConfig extends Error {
  override readonly name = 'UntranslatableConfig';
}

// Where Sydent reads each option (sydent/config/*.py); a value in another section is not read.
const SECTION_OF: Record<string, string> = {};
const place = (section: string, keys: string[]) => {
  for (const key of keys) SECTION_OF[key] = section;
};
place('general', [
  'server.name',
  'log.path',
  'log.level',
  'pidfile.path',
  'terms.path',
  'address_lookup_limit',
  'templates.path',
  'brand.default',
  'enable_v1_associations',
  'delete_tokens_on_bind',
  'ip.blacklist',
  'ip.whitelist',
  'homeserver_allow_list',
  'enable_v1_access',
  'prometheus_port',
  'prometheus_addr',
  'sentry_dsn',
]);
place('db', ['db.file']);
place('http', [
  'clientapi.http.bind_address',
  'clientapi.http.port',
  'internalapi.http.bind_address',
  'internalapi.http.port',
  'replication.https.certfile',
  'replication.https.cacert',
  'replication.https.bind_address',
  'replication.https.port',
  'obey_x_forwarded_for',
  'federation.verifycerts',
  'client_http_base',
  'verify_response_template',
]);
place('email', [
  'email.template',
  'email.invite_template',
  'email.from',
  'email.subject',
  'email.invite.subject',
  'email.invite.subject_space',
  'email.smtphost',
  'email.smtpport',
  'email.smtpusername',
  'email.smtppassword',
  'email.hostname',
  'email.tlsmode',
  'email.default_web_client_location',
  'email.third_party_invite_username_obfuscate_characters',
  'email.third_party_invite_domain_obfuscate_characters',
  'email.third_party_invite_homeserver_blocklist',
  'email.third_party_invite_room_blocklist',
  'email.third_party_invite_keyword_blocklist',
  'email.ratelimit_sender.burst',
  'email.ratelimit_sender.rate_hz',
]);
place('sms', [
  'bodytemplate',
  'username',
  'password',
  'msisdn.ratelimit.burst',
  'msisdn.ratelimit.rate_hz',
  'country.ratelimit.burst',
  'country.ratelimit.rate_hz',
]);
place('crypto', ['ed25519.signingkey']);

/** Sydent's defaults of the settings that are only reported when changed. */
const SYDENT_DEFAULTS: Record<string, string> = {
  'log.level': 'INFO',
  'pidfile.path': 'sydent.pid',
  'templates.path': 'res',
  'brand.default': 'matrix-org',
  enable_v1_associations: 'true',
  enable_v1_access: 'true',
  delete_tokens_on_bind: 'true',
  'replication.https.bind_address': '::',
  'replication.https.port': '4434',
  obey_x_forwarded_for: 'False',
  'email.subject': 'Your Validation Token',
  'email.invite.subject': '%(sender_display_name)s has invited you to chat',
  'email.invite.subject_space': '%(sender_display_name)s has invited you to a space',
  'email.third_party_invite_username_obfuscate_characters': '3',
  'email.third_party_invite_domain_obfuscate_characters': '3',
  bodytemplate: 'Your code is {token}',
};
/** Read raw by Sydent (their %(…)s are Python %-format fields, filled per invite). */
const RAW_KEYS = new Set(['email.invite.subject', 'email.invite.subject_space']);
const LOG_LEVELS: Record<string, string> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
  FATAL: 'fatal',
};
/** The admin APIs the data stage sends to; unless Sydent's internal API names the directory's, on loopback from this port on. */
const ADMIN_LISTEN_SETTINGS = [
  'TESSERA_DIRECTORY_ADMIN_LISTEN',
  'TESSERA_SESSION_ADMIN_LISTEN',
  'TESSERA_INVITE_ADMIN_LISTEN',
] as const satisfies ConfigKey[];
const FIRST_ADMIN_PORT = 8091;
/** The client listener's port when Sydent's config names none (Tessera's default, as Sydent's). */
const TESSERA_HTTP_PORT_DEFAULT = 8090;
/** Tessera's fixed-window limits stand in for Sydent's token buckets: burst plus an hour's refill per hour. */
const RATE_WINDOW_S = 3600;
const REPLICATION_WHY =
  'Tessera does not speak Sydent replication: deactivate this peering on both sides (peers keep pushing otherwise)';

/**
 * Translates Sydent's configuration into Tessera settings (REFERENCE §3). Refuses an empty
 * `server.name` or `client_http_base` (everything is keyed by them). Every Sydent setting with a
 * value other than its default that has no Tessera equivalent is listed with why.
 */
export function translateConfig(config: ParsedConfig, options: { termsFile?: string } = {}): TranslatedConfig {
  const settings: TranslatedConfig['settings'] = {};
  const untranslated: Untranslated[] = [];
  const warnings: string[] = [];
  const handled = new Set<string>();
  const value = (key: string): string => {
    handled.add(key);
    return (config.get(SECTION_OF[key] ?? 'general', key, { raw: RAW_KEYS.has(key) }) ?? '').trim();
  };
  const changed = (key: string) => {
    const current = value(key);
    return current !== '' && current !== (SYDENT_DEFAULTS[key] ?? '');
  };
  const skip = (key: string, why: string) => {
    if (changed(key)) untranslated.push({ section: SECTION_OF[key] ?? 'general', key, why });
  };

  const serverName = value('server.name');
  if (serverName === '')
    throw new UntranslatableConfig(
      '[general] server.name is empty: Sydent signed with the machine’s hostname; write that name into server.name and run again',
    );
  settings.TESSERA_SERVER_NAME = serverName;
  const base = value('client_http_base');
  if (base === '')
    throw new UntranslatableConfig(
      '[http] client_http_base is empty: mail links and the key_validity_url in room state name the public URL; set it to the URL clients use',
    );
  settings.TESSERA_PUBLIC_BASE_URL = base;

  const clientHost = value('clientapi.http.bind_address');
  if (clientHost !== '') settings.TESSERA_HTTP_HOST = clientHost;
  const clientPort = value('clientapi.http.port');
  if (clientPort !== '') settings.TESSERA_HTTP_PORT = clientPort;
  const internalPort = value('internalapi.http.port');
  const internalHost = value('internalapi.http.bind_address') || '::1';
  const comments: TranslatedConfig['comments'] = {};
  const takenPorts = new Set([Number(clientPort || TESSERA_HTTP_PORT_DEFAULT)]);
  if (internalPort !== '') {
    settings.TESSERA_DIRECTORY_ADMIN_LISTEN = `${isIP(internalHost) === 6 ? `[${internalHost}]` : internalHost}:${internalPort}`;
    takenPorts.add(Number(internalPort));
    comments.TESSERA_DIRECTORY_ADMIN_LISTEN =
      'Sydent’s internal API (bind, unbind), and the import’s associations and pepper (tessera import sydent --stage data)';
    if (!['127.0.0.1', '::1', 'localhost'].includes(internalHost))
      warnings.push(
        `the internal API listened on ${internalHost}: the directory's admin API there needs TESSERA_DIRECTORY_ADMIN_TOKEN_FILE (Sydent's had no authentication)`,
      );
  }
  // The data stage sends through these admin APIs: on, on loopback, for the import.
  for (const setting of ADMIN_LISTEN_SETTINGS) {
    if (settings[setting] !== undefined) continue;
    let port = FIRST_ADMIN_PORT;
    while (takenPorts.has(port)) port++;
    takenPorts.add(port);
    settings[setting] = `127.0.0.1:${port}`;
    comments[setting] = 'on for tessera import sydent --stage data (loopback only); may be removed after the import';
  }

  const level = value('log.level').toUpperCase();
  if (level !== '' && LOG_LEVELS[level] !== undefined) settings.TESSERA_LOG_LEVEL = LOG_LEVELS[level];
  const sydentTerms = value('terms.path');
  const termsPath = options.termsFile ?? sydentTerms;
  if (termsPath !== '') {
    settings.TESSERA_TERMS_FILE = termsPath;
    if (!existsSync(termsPath))
      warnings.push(
        `terms file ${termsPath} is not here: give --terms <file> (Tessera must serve the same terms, or every user is asked again)`,
      );
  }
  const templates = value('templates.path');
  const brand = value('brand.default');
  if (
    templates !== '' &&
    templates !== SYDENT_DEFAULTS['templates.path'] &&
    isAbsolute(templates) &&
    existsSync(templates)
  ) {
    settings.TESSERA_TEMPLATES_DIR = templates;
    if (brand !== '') settings.TESSERA_DEFAULT_BRAND = brand;
  } else {
    // A folder that is not here would stop Tessera's start: Tessera's own templates serve until it is copied.
    skip(
      'templates.path',
      'not a folder on this machine (relative paths were Sydent’s working directory): copy it here and set TESSERA_TEMPLATES_DIR; Tessera’s own templates serve until then',
    );
    skip(
      'brand.default',
      'Tessera’s own templates have the brand "tessera": set TESSERA_DEFAULT_BRAND with TESSERA_TEMPLATES_DIR',
    );
  }
  for (const key of ['email.template', 'email.invite_template', 'verify_response_template'])
    skip(
      key,
      'a single-file template override (deprecated in Sydent): put the file into a brand folder under TESSERA_TEMPLATES_DIR',
    );

  settings.TESSERA_SMTP_URL = smtpUrl(value);
  const from = value('email.from');
  if (from !== '') {
    settings.TESSERA_EMAIL_FROM = from;
    if (from.includes('{hostname}'))
      warnings.push(
        'email.from contains a literal {hostname} (Sydent’s default, never replaced): set TESSERA_EMAIL_FROM to a real sender',
      );
  }
  skip('email.hostname', 'the HELO name and Message-ID domain: Tessera uses the SMTP client’s own');
  const webClient = value('email.default_web_client_location');
  if (webClient !== '') settings.TESSERA_INVITE_WEB_CLIENT_LOCATION = webClient;
  const blocklist = (key: string, setting: ConfigKey) => {
    const entries = value(key)
      .split('\n')
      .map((entry) => entry.trim())
      .filter(Boolean);
    if (entries.length === 0) return;
    if (entries.some((entry) => entry.includes(',')))
      warnings.push(`${key}: an entry contains a comma, which separates entries in ${setting}: check it`);
    settings[setting] = entries.join(',');
  };
  blocklist('email.third_party_invite_room_blocklist', 'TESSERA_INVITE_BLOCKED_ROOMS');
  blocklist('email.third_party_invite_homeserver_blocklist', 'TESSERA_INVITE_BLOCKED_SERVERS');
  blocklist('email.third_party_invite_keyword_blocklist', 'TESSERA_INVITE_BLOCKED_KEYWORDS');
  for (const key of ['email.invite.subject', 'email.invite.subject_space'])
    skip(key, 'invite subjects come from the brand’s invite template in Tessera: put the subject there');
  for (const key of [
    'email.third_party_invite_username_obfuscate_characters',
    'email.third_party_invite_domain_obfuscate_characters',
  ])
    skip(key, 'Tessera redacts the invitee’s address in display_name with its own fixed rule');
  value('email.subject'); // unused by Sydent

  const rateLimit = (prefix: string, defaults: [number, number], targets: ConfigKey[]) => {
    const burstText = value(`${prefix}.burst`);
    const rateText = value(`${prefix}.rate_hz`);
    if (burstText === '' && rateText === '') return;
    const burst = burstText === '' ? defaults[0] : Number(burstText);
    const rate = rateText === '' ? defaults[1] : Number(rateText);
    if (!Number.isFinite(burst) || !Number.isFinite(rate) || burst < 0 || rate < 0) {
      untranslated.push({ section: SECTION_OF[`${prefix}.burst`] ?? '', key: `${prefix}.*`, why: 'not a number' });
      return;
    }
    const limit = `${Math.max(1, Math.round(burst + rate * RATE_WINDOW_S))}/${RATE_WINDOW_S}s`;
    for (const target of targets) settings[target] = limit;
  };
  rateLimit(
    'email.ratelimit_sender',
    [5, 1 / 300],
    ['TESSERA_RATE_LIMIT_USER', 'TESSERA_RATE_LIMIT_IP', 'TESSERA_RATE_LIMIT_INVITE_SENDER'],
  );
  rateLimit('msisdn.ratelimit', [5, 1 / 3600], ['TESSERA_RATE_LIMIT_MSISDN']);
  rateLimit('country.ratelimit', [50, 1 / 60], ['TESSERA_RATE_LIMIT_COUNTRY']);

  const allow = value('ip.whitelist');
  if (allow !== '')
    settings.TESSERA_OUTBOUND_ALLOW = allow
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((entry) => (entry.includes('/') ? entry : `${entry}/${isIP(entry) === 6 ? 128 : 32}`))
      .join(',');
  skip(
    'ip.blacklist',
    'Tessera’s outbound deny list is fixed (private, loopback and reserved ranges); only the allow list is configurable',
  );
  const verify = value('federation.verifycerts');
  if (verify !== '') settings.TESSERA_OUTBOUND_VERIFY_TLS = String(pythonBoolean(verify, true));
  const homeservers = value('homeserver_allow_list');
  if (homeservers !== '')
    settings.TESSERA_HOMESERVER_ALLOW = homeservers
      .split(/[\s,]+/)
      .filter(Boolean)
      .join(',');
  const lookupLimit = value('address_lookup_limit');
  if (lookupLimit !== '') settings.TESSERA_LOOKUP_MAX_ADDRESSES = lookupLimit;
  for (const key of ['enable_v1_access', 'enable_v1_associations'])
    if (!pythonBoolean(value(key), true))
      untranslated.push({
        section: 'general',
        key,
        why: 'Tessera always serves the v1 API (room state links to its isvalid and sign-ed25519)',
      });
  if (!pythonBoolean(value('delete_tokens_on_bind'), true))
    untranslated.push({
      section: 'general',
      key: 'delete_tokens_on_bind',
      why: 'Tessera keeps delivered invites as claimed records; they are never delivered twice either way',
    });
  if (pythonBoolean(value('obey_x_forwarded_for'), false))
    untranslated.push({
      section: 'http',
      key: 'obey_x_forwarded_for',
      why: 'Tessera believes X-Forwarded-For only from TESSERA_TRUSTED_PROXIES: list your proxies’ addresses there',
    });

  translateSms(config, value, settings, untranslated);

  for (const key of ['log.path', 'pidfile.path', 'sentry_dsn'])
    skip(key, 'operations: Tessera’s services log JSON to stdout and have no pid file or Sentry setting');
  for (const key of ['prometheus_port', 'prometheus_addr'])
    skip(key, 'each Tessera service serves /metrics on its TESSERA_METRICS_LISTEN');
  for (const key of [
    'replication.https.certfile',
    'replication.https.cacert',
    'replication.https.bind_address',
    'replication.https.port',
  ])
    skip(key, REPLICATION_WHY);
  value('db.file'); // this importer's input
  const signingKey = value('ed25519.signingkey');

  // Peer sections, and anything this importer does not know.
  for (const section of ['DEFAULT', ...config.sections]) {
    if (section.startsWith('peer.')) {
      for (const key of config.options(section))
        if (!Object.hasOwn(SECTION_OF, key)) untranslated.push({ section, key, why: REPLICATION_WHY });
      continue;
    }
    for (const key of section === 'DEFAULT' ? config.defaultOptions() : config.options(section))
      if (!handled.has(key) && !isSmsKey(key) && (config.get(section, key, { raw: true }) ?? '').trim() !== '')
        untranslated.push({ section, key, why: 'not a setting this importer knows (not read by Sydent 2.6?)' });
  }
  return { settings, untranslated, warnings, comments, serverName, signingKey };
}

function translateSms(
  config: ParsedConfig,
  value: (key: string) => string,
  settings: TranslatedConfig['settings'],
  untranslated: Untranslated[],
): void {
  const username = value('username');
  const password = value('password');
  const body = value('bodytemplate');
  const originators = config.options('sms').filter((key) => key.startsWith('originators.'));
  const rules = config.options('sms').filter((key) => key.startsWith('smsrule.'));
  if (username !== '') {
    settings.TESSERA_SMS_PROVIDER = 'openmarket';
    settings.TESSERA_SMS_USERNAME = username;
    if (password !== '') settings.TESSERA_SMS_PASSWORD = password;
  }
  const off = username === '' ? 'SMS was off in Sydent (no OpenMarket username); ' : '';
  if (body !== '' && body !== SYDENT_DEFAULTS.bodytemplate)
    untranslated.push({ section: 'sms', key: 'bodytemplate', why: `${off}Tessera’s SMS text is fixed` });
  for (const key of originators) {
    const first = (config.get('sms', key) ?? '').split(',')[0]?.trim() ?? '';
    if (key === 'originators.default' && username !== '' && first.includes(':')) {
      settings.TESSERA_SMS_FROM = first.slice(first.indexOf(':') + 1);
      continue;
    }
    untranslated.push({
      section: 'sms',
      key,
      why: `${off}Tessera has one sender (TESSERA_SMS_FROM: the first of originators.default), not one per country`,
    });
  }
  for (const key of rules)
    untranslated.push({ section: 'sms', key, why: `${off}Tessera has no per-country allow/reject rule` });
}

const isSmsKey = (key: string) => key.startsWith('originators.') || key.startsWith('smsrule.');

/** Python's ConfigParser.getboolean. */
function pythonBoolean(text: string, fallback: boolean): boolean {
  const lower = text.toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(lower)) return true;
  if (['0', 'no', 'false', 'off'].includes(lower)) return false;
  return fallback;
}

function smtpUrl(value: (key: string) => string): string {
  const host = value('email.smtphost') || 'localhost';
  const port = value('email.smtpport') || '25';
  const user = value('email.smtpusername');
  const password = value('email.smtppassword');
  // Sydent: SSL or TLS = implicit TLS; STARTTLS; anything else plain (Tessera upgrades when offered).
  const mode = value('email.tlsmode').toUpperCase();
  const scheme = mode === 'SSL' || mode === 'TLS' ? 'smtps' : 'smtp';
  const credentials =
    user === '' ? '' : `${encodeURIComponent(user)}${password === '' ? '' : `:${encodeURIComponent(password)}`}@`;
  return `${scheme}://${credentials}${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The Tessera YAML file: the settings, and a comment naming each Sydent setting left behind and why. */
export function renderTesseraYaml(translated: TranslatedConfig, header: string[]): string {
  const lines = header.map((line) => `# ${line}`);
  if (translated.untranslated.length > 0) {
    lines.push('#', '# Sydent settings with no Tessera equivalent:');
    for (const { section, key, why } of translated.untranslated) lines.push(`#   [${section}] ${key}: ${why}`);
  }
  for (const warning of translated.warnings) lines.push(`# warning: ${warning}`);
  for (const [key, setting] of Object.entries(translated.settings)) {
    const comment = translated.comments[key as ConfigKey];
    if (comment !== undefined) lines.push(`# ${comment}`);
    lines.push(`${key}: ${JSON.stringify(setting)}`);
  }
  return `${lines.join('\n')}\n`;
}
