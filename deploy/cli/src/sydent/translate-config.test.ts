import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@tessera/config';
import { SAMPLE_DIR as SAMPLE } from '../../test-support/sydent-sample.js';
import { parseConfig } from './config-parser.js';
import { renderTesseraYaml, translateConfig, UntranslatableConfig } from './translate-config.js';

describe('translating Sydent’s configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-translate-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('turns the sample’s sydent.conf into a YAML file that Tessera’s config loader accepts', async () => {
    const translated = translateConfig(parseConfig(await readFile(`${SAMPLE}/sydent.conf`, 'utf8')), {
      termsFile: `${SAMPLE}/terms.yaml`,
    });
    const file = join(dir, 'tessera.yaml');
    await writeFile(file, renderTesseraYaml(translated, ['test']));
    const config = loadConfig({ TESSERA_CONFIG: file });
    assert.equal(config.TESSERA_SERVER_NAME, 'id.example.test');
    assert.equal(config.TESSERA_PUBLIC_BASE_URL, 'http://127.0.0.1:8490');
    assert.equal(config.TESSERA_HTTP_HOST, '127.0.0.1');
    assert.equal(config.TESSERA_HTTP_PORT, 8490);
    assert.equal(config.TESSERA_DIRECTORY_ADMIN_LISTEN, '127.0.0.1:8491', 'Sydent’s internal API');
    assert.equal(config.TESSERA_SESSION_ADMIN_LISTEN, '127.0.0.1:8091', 'on for the data stage');
    assert.equal(config.TESSERA_INVITE_ADMIN_LISTEN, '127.0.0.1:8092');
    assert.equal(config.TESSERA_SMTP_URL, 'smtp://127.0.0.1:2625');
    assert.equal(config.TESSERA_EMAIL_FROM, 'Example ID Server <noreply@id.example.test>');
    assert.equal(config.TESSERA_TERMS_FILE, `${SAMPLE}/terms.yaml`);
    assert.deepEqual(config.TESSERA_INVITE_BLOCKED_KEYWORDS, ['casino', 'crypto giveaway']);
    assert.deepEqual(config.TESSERA_INVITE_BLOCKED_SERVERS, ['spam.example.test']);
    assert.deepEqual(config.TESSERA_OUTBOUND_ALLOW, ['127.0.0.1/32']);
    assert.equal(config.TESSERA_OUTBOUND_VERIFY_TLS, false);
    assert.equal(config.TESSERA_LOOKUP_MAX_ADDRESSES, 10000);
    // burst 50 + 1/s over an hour; msisdn: burst 3 + Sydent's default 1/3600 s.
    assert.deepEqual(config.TESSERA_RATE_LIMIT_USER, { count: 3650, windowMs: 3_600_000 });
    assert.deepEqual(config.TESSERA_RATE_LIMIT_MSISDN, { count: 4, windowMs: 3_600_000 });
    assert.equal(translated.signingKey, 'ed25519 0 nVZ+KyYYyhA78RaKHX6NeB90CNt/Ijz80KNlT1qOA1Y');
  });

  it('names every changed Sydent setting it cannot carry over, with why, in the YAML too', async () => {
    const translated = translateConfig(parseConfig(await readFile(`${SAMPLE}/sydent.conf`, 'utf8')));
    const names = translated.untranslated.map(({ section, key }) => `[${section}] ${key}`);
    for (const expected of [
      '[email] email.invite.subject',
      '[email] email.hostname',
      '[email] email.third_party_invite_username_obfuscate_characters',
      '[sms] originators.44',
      '[sms] smsrule.7',
      '[http] replication.https.port',
      '[peer.peer.example.test] base_replication_url',
      '[general] templates.path',
    ])
      assert.ok(names.includes(expected), expected);
    assert.ok(
      !names.includes('[email] email.third_party_invite_domain_obfuscate_characters'),
      'unchanged from Sydent’s default',
    );
    assert.ok(!names.some((name) => name.includes('terms.path') || name.includes('server.name')), 'translated');
    const yaml = renderTesseraYaml(translated, []);
    assert.match(yaml, /^# {3}\[email\] email\.invite\.subject: invite subjects come from/m);
  });

  it('reads the invite subjects raw and warns about a literal {hostname}', () => {
    const text = [
      '[DEFAULT]',
      'email.from = Sydent Validation <noreply@{hostname}>',
      '[general]',
      'server.name = id.example.org',
      '[http]',
      'client_http_base = https://id.example.org',
      'internalapi.http.port = 8091',
      '[email]',
      'email.invite.subject = %(sender_display_name)s wants you',
      'email.smtphost = mail.example.org',
      'email.smtpport = 465',
      'email.tlsmode = SSL',
      'email.smtpusername = id@example.org',
      'email.smtppassword = p@ss:word',
    ].join('\n');
    const translated = translateConfig(parseConfig(text));
    assert.equal(translated.settings.TESSERA_SMTP_URL, 'smtps://id%40example.org:p%40ss%3Aword@mail.example.org:465');
    assert.equal(
      translated.settings.TESSERA_DIRECTORY_ADMIN_LISTEN,
      '[::1]:8091',
      'Sydent’s default internal bind address',
    );
    assert.equal(translated.settings.TESSERA_SESSION_ADMIN_LISTEN, '127.0.0.1:8092', 'not the internal API’s port');
    assert.match(
      renderTesseraYaml(translated, []),
      /^# Sydent’s internal API .*\nTESSERA_DIRECTORY_ADMIN_LISTEN: "\[::1\]:8091"$/m,
    );
    assert.ok(translated.warnings.some((warning) => warning.includes('{hostname}')));
    assert.ok(
      translated.untranslated.some(({ key }) => key === 'email.invite.subject'),
      'raw: no interpolation error',
    );
  });

  it('turns on every admin API the data stage needs, on loopback ports of their own, and says why in the YAML', () => {
    const text = [
      '[general]',
      'server.name = id.example.org',
      '[http]',
      'client_http_base = https://id.example.org',
      'clientapi.http.port = 8092',
    ].join('\n');
    const translated = translateConfig(parseConfig(text));
    assert.equal(translated.settings.TESSERA_DIRECTORY_ADMIN_LISTEN, '127.0.0.1:8091');
    assert.equal(translated.settings.TESSERA_SESSION_ADMIN_LISTEN, '127.0.0.1:8093', 'not the client port');
    assert.equal(translated.settings.TESSERA_INVITE_ADMIN_LISTEN, '127.0.0.1:8094');
    const yaml = renderTesseraYaml(translated, []);
    for (const setting of ['DIRECTORY', 'SESSION', 'INVITE'])
      assert.match(
        yaml,
        new RegExp(
          `^# on for tessera import sydent --stage data .*may be removed after the import\nTESSERA_${setting}_ADMIN_LISTEN: `,
          'm',
        ),
      );
  });

  it('refuses a config without server.name or client_http_base', () => {
    assert.throws(() => translateConfig(parseConfig('[general]\nserver.name =\n')), UntranslatableConfig);
    assert.throws(
      () => translateConfig(parseConfig('[general]\nserver.name = a.example\n[http]\nclient_http_base =\n')),
      /client_http_base is empty/,
    );
  });
});
