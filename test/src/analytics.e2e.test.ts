import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { bearer, json, validateEmailAndBind } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { REPO_ROOT } from './system/repo-root.js';
import { type SystemWithUser, startSystemWithUser, stopSystemAndWorld } from './system/system-with-user.js';

// The analytics example (examples/analytics) run as an analytics team would: against a system that
// validated, bound and invited real addresses, with nothing but the analytics identity.
const EXAMPLE = join(REPO_ROOT, 'examples/analytics/dist/main.js');
const run = promisify(execFile);

type Report = {
  messages: number;
  events: number;
  counts: { hour: string; type: string; count: number }[];
  stringFields: string[];
  identifiers: unknown[];
};

let world: OutsideWorld;
let running: SystemWithUser;
const addresses = [1, 2, 3].map((n) => `analytics-${n}-${randomUUID()}@example.org`);
const invited = `analytics-invited-${randomUUID()}@example.org`;

before(async () => {
  world = await startOutsideWorld();
  running = await startSystemWithUser(world);
  const { call, user } = running;
  for (const address of addresses) await validateEmailAndBind(call, world.smtp, user, address);
  const stored = await call(
    '/_matrix/identity/v2/store-invite',
    json(
      { medium: 'email', address: invited, room_id: '!analytics:example.org', sender: user.userId },
      bearer(user.token),
    ),
  );
  assert.equal(stored.status, 200, stored.text);
});
after(() => stopSystemAndWorld(running?.system, world));

async function report(...args: string[]): Promise<string> {
  const { natsUrl } = running.system.state();
  assert.ok(natsUrl);
  const { stdout } = await run(
    process.execPath,
    [
      EXAMPLE,
      '--nats-url',
      natsUrl,
      '--credentials',
      join(running.system.dataDir, 'nats', 'identities', 'analytics.nk'),
      ...args,
    ],
    { timeout: 60_000 },
  );
  return stdout;
}

const total = (parsed: Report, type: string) =>
  parsed.counts.filter((row) => row.type === type).reduce((sum, row) => sum + row.count, 0);

describe('the analytics example', () => {
  it('counts every event of the stream per type and hour, as the analytics identity', async () => {
    const parsed = JSON.parse(await report('--json')) as Report;
    assert.equal(total(parsed, 'AssociationBound'), addresses.length);
    assert.equal(total(parsed, 'TermsAccepted'), 1);
    // Validation sessions live in the short-lived stream, which analytics cannot read at all.
    assert.equal(total(parsed, 'SessionValidated'), 0);
    assert.equal(total(parsed, 'InviteStored'), 1);
    assert.ok(total(parsed, 'AccountRegistered') >= 1);
    assert.ok(total(parsed, 'KeyCreated') >= 1);
    assert.equal(
      parsed.counts.reduce((sum, row) => sum + row.count, 0),
      parsed.events,
      'the rows add up to every event read',
    );
    for (const row of parsed.counts) assert.match(row.hour, /^\d{4}-\d\d-\d\d \d\d:00$/);
    const again = JSON.parse(await report('--json')) as Report;
    assert.ok(again.messages >= parsed.messages, 'a second report reads the whole stream again');
  });

  it('reads string fields but no address and no user ID: none looks like one, and none of the real ones appears', async () => {
    const parsed = JSON.parse(await report('--json')) as Report;
    assert.ok(parsed.stringFields.length > 0, 'it did read the events');
    assert.deepEqual(parsed.identifiers, []);
    const table = await report();
    assert.match(table, /AssociationBound/);
    assert.match(table, /0 of their values look like an email address, a phone number or a Matrix user ID/);
    for (const output of [table, JSON.stringify(parsed)])
      for (const secret of [...addresses, invited, running.user.userId, running.user.token])
        assert.ok(!output.includes(secret), 'the report names no address, user ID or token');
  });

  it('says what it needs, with exit code 64, when the NATS URL or the credentials are missing', async () => {
    const { natsUrl } = running.system.state();
    assert.ok(natsUrl);
    const env = { PATH: process.env.PATH ?? '' };
    await assert.rejects(
      run(process.execPath, [EXAMPLE, '--nats-url', natsUrl], { env }),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 64);
        assert.match(err.stderr ?? '', /the NATS URL and the analytics credentials are both required/);
        return true;
      },
    );
  });
});
