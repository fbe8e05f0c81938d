import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runToExit } from '@tessera/test-harness';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.js');
const EXIT_CONFIG = 78;
// Nothing listens there: each case must stop on its setting before it tries to connect.
const UNREACHABLE = { TESSERA_NATS_URL: 'nats://127.0.0.1:1', TESSERA_SMTP_URL: 'smtp://127.0.0.1:1' };

const runMain = (env: Record<string, string>) => runToExit(MAIN, env);

describe('the notifier process refuses to start, naming the setting', () => {
  let empty: string;
  before(async () => {
    empty = await mkdtemp(join(tmpdir(), 'tessera-notifier-main-'));
  });
  after(() => rm(empty, { recursive: true, force: true }));

  const cases: [string, Record<string, string>, RegExp][] = [
    ['without TESSERA_NATS_URL', { TESSERA_SMTP_URL: UNREACHABLE.TESSERA_SMTP_URL }, /TESSERA_NATS_URL/],
    ['without TESSERA_SMTP_URL', { TESSERA_NATS_URL: UNREACHABLE.TESSERA_NATS_URL }, /TESSERA_SMTP_URL/],
    ['with a sender that is no address', { ...UNREACHABLE, TESSERA_EMAIL_FROM: 'Tessera' }, /TESSERA_EMAIL_FROM/],
    [
      'with twilio but no sender number',
      { ...UNREACHABLE, TESSERA_SMS_PROVIDER: 'twilio', TESSERA_SMS_USERNAME: 'AC1', TESSERA_SMS_PASSWORD: 'p' },
      /TESSERA_SMS_FROM/,
    ],
  ];
  for (const [what, env, expected] of cases)
    it(what, async () => {
      const { code, stderr } = await runMain(env);
      assert.equal(code, EXIT_CONFIG);
      assert.match(stderr, expected);
    });

  it('with a templates directory lacking the default brand, naming the missing file', async () => {
    const { code, stderr } = await runMain({ ...UNREACHABLE, TESSERA_TEMPLATES_DIR: empty });
    assert.equal(code, EXIT_CONFIG);
    assert.ok(stderr.includes(join(empty, 'tessera', 'verification_template.eml.j2')), stderr);
  });

  it('with a template that has a syntax error, naming the file', async () => {
    const broken = join(empty, 'broken');
    await mkdir(join(broken, 'tessera'), { recursive: true });
    await writeFile(join(broken, 'tessera', 'verification_template.eml.j2'), 'Subject: {% if %}\n\nbody\n');
    await writeFile(join(broken, 'tessera', 'verify_response_template.html'), '<p>{{ message }}</p>\n');
    const { code, stderr } = await runMain({ ...UNREACHABLE, TESSERA_TEMPLATES_DIR: broken });
    assert.equal(code, EXIT_CONFIG);
    assert.match(stderr, /TESSERA_TEMPLATES_DIR/);
    assert.ok(stderr.includes(join(broken, 'tessera', 'verification_template.eml.j2')), stderr);
  });
});
