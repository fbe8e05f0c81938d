import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bearer, json, newClientSecret } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { removeDataDir, startSystem, tempDataDir } from './system/running-system.js';
import { type SystemWithUser, startSystemWithUser, stopSystemAndWorld } from './system/system-with-user.js';

// Issue 8, item 6, on the whole running system: operators' Sydent template folders as they are.

describe("a Sydent brand without a header block (matrix-is-tester's is-test)", () => {
  let world: OutsideWorld;
  let running: SystemWithUser | undefined;

  before(async () => {
    world = await startOutsideWorld();
    // The file exactly as Sydent's matrix_is_test/res/is-test/ ships it.
    const brand = join(world.dir, 'templates', 'is-test');
    mkdirSync(brand);
    writeFileSync(join(brand, 'verification_template.eml.j2'), '<<<{{ token }}>>>\n');
    running = await startSystemWithUser(world);
  });
  after(() => stopSystemAndWorld(running?.system, world));

  it('sends its rendered text as the whole mail, and the token in it validates the session', async () => {
    assert.ok(running);
    const { call, user } = running;
    const email = `is-test-${Date.now()}@example.org`;
    const clientSecret = newClientSecret();
    const requested = await call<{ sid: string }>(
      '/_matrix/identity/v2/validate/email/requestToken?brand=is-test',
      json({ client_secret: clientSecret, email, send_attempt: 1 }, bearer(user.token)),
    );
    assert.equal(requested.status, 200, requested.text);

    const mail = await world.smtp.waitForMessage((m) => m.to.includes(email), 10_000);
    // What matrix-is-tester reads: `re.match(r"<<<(.*)>>>", data)`, at the very start of the data.
    const match = /^<<<([A-Za-z0-9]+)>>>\r?\n$/.exec(mail.raw);
    assert.ok(match?.[1], `the mail is the rendered text and nothing else: ${JSON.stringify(mail.raw)}`);
    assert.deepEqual(mail.to, [email]);
    assert.match(mail.from, /^noreply@/, 'the envelope sender is ours');

    const submitted = await call<{ success: boolean }>(
      '/_matrix/identity/v2/validate/email/submitToken',
      json({ sid: requested.body.sid, client_secret: clientSecret, token: match[1] }, bearer(user.token)),
    );
    assert.deepEqual(submitted.body, { success: true });
  });
});

describe('a template that cannot render', () => {
  let world: OutsideWorld;
  before(async () => {
    world = await startOutsideWorld();
  });
  after(() => world?.close());

  const broken: [string, string][] = [
    ['a syntax error', 'Subject: {{ token }\n\n{{ link }}\n'],
    // Jinja refuses an unknown filter when it compiles; nunjucks only when it renders.
    ['an unknown filter', 'Subject: x\n\n{{ link|no_such_filter }}\n'],
  ];
  for (const [what, source] of broken)
    it(`(${what}) stops the notifier at start, its exit 78 and the file named in the output`, async () => {
      const templatesDir = mkdtempSync(join(world.dir, 'broken-templates-'));
      mkdirSync(join(templatesDir, 'typo'));
      symlinkSync(join(world.dir, 'templates', 'tessera'), join(templatesDir, 'tessera'));
      const file = join(templatesDir, 'typo', 'verification_template.eml.j2');
      writeFileSync(file, source);

      const dataDir = tempDataDir();
      try {
        const err: Error = await startSystem({
          dataDir,
          env: { ...world.env, TESSERA_TEMPLATES_DIR: templatesDir },
        }).then(
          async (system) => {
            await system.stop();
            assert.fail('the system became ready with a broken template');
          },
          (reason: Error) => reason,
        );
        assert.match(err.message, /runner exited with \d+ before it was ready/);
        assert.match(err.message, /notifier exited with code 78 \(invalid configuration\)/);
        const named = err.message.split('\n').filter((line) => line.startsWith('notifier') && line.includes(file));
        assert.ok(named.length > 0, `the notifier names ${file}:\n${err.message}`);
      } finally {
        removeDataDir(dataDir);
      }
    });
});
