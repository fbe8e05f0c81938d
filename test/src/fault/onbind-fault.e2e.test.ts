import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OnbindCall } from '@tessera/test-harness';
import type { ObservedFetch } from '../spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret } from '../system/flows.js';
import { type OutsideWorld, startOutsideWorld } from '../system/outside-world.js';
import { type RunningSystem, replicaReady } from '../system/running-system.js';
import { startSystemWithUser, stopSystemAndWorld } from '../system/system-with-user.js';

// "Delivered invites reach the homeserver whatever happens to the notifier": the whole system,
// the notifier killed with SIGKILL (the runner restarts it) while an onbind call waits for its
// retry, and while one is under way. Each call must arrive with a 200 exactly once, and nothing
// may be sent after that 200.
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;
let user: { token: string; userId: string };

const V2 = '/_matrix/identity/v2';
// Long enough to kill the notifier between two attempts; a killed attempt's lease runs out soon.
const RETRY_MS = 3_000;
const LEASE_MS = 2_000;

before(async () => {
  world = await startOutsideWorld();
  ({ system, call, user } = await startSystemWithUser(world, {
    env: {
      TESSERA_ONBIND_RETRY_BASE_MS: String(RETRY_MS),
      TESSERA_ONBIND_RETRY_MAX_MS: String(RETRY_MS),
      TESSERA_DELIVERY_LEASE_MS: String(LEASE_MS),
    },
  }));
});
after(() => stopSystemAndWorld(system, world));

let addresses = 0;
const newAddress = () => `onbind.fault.${++addresses}.${Date.now()}@example.org`;

async function invite(address: string) {
  const res = await call(
    `${V2}/store-invite`,
    json({ medium: 'email', address, room_id: '!room:example.org', sender: user.userId }, bearer(user.token)),
  );
  assert.equal(res.status, 200, res.text);
}

async function validateAndBind(address: string) {
  const clientSecret = newClientSecret();
  const sentAfter = Date.now();
  const requested = await call<{ sid: string }>(
    `${V2}/validate/email/requestToken`,
    json({ client_secret: clientSecret, email: address, send_attempt: 1 }, bearer(user.token)),
  );
  assert.equal(requested.status, 200, requested.text);
  const { link } = await mailTo(world.smtp, address, sentAfter);
  assert.equal((await fetch(link)).status, 200);
  const bound = await call(
    `${V2}/3pid/bind`,
    json({ sid: requested.body.sid, client_secret: clientSecret, mxid: user.userId }, bearer(user.token)),
  );
  assert.equal(bound.status, 200, bound.text);
}

const callsFor = (address: string): OnbindCall[] =>
  world.homeserver.onbindCalls.filter((c) => (c.body as { address?: string }).address === address);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** SIGKILL to the notifier; resolves once the runner has started it again and it is ready. */
async function killNotifier() {
  const pidOf = () => system.state().services.notifier?.pid ?? null;
  const pid = pidOf();
  assert.ok(pid, 'the runner names the notifier pid');
  process.kill(pid, 'SIGKILL');
  await until('the runner has started the notifier again', () => {
    const now = pidOf();
    return now !== null && now !== pid;
  });
  await until('the notifier is ready again', () => replicaReady(system, 'notifier'));
}

/**
 * Another invited address bound and delivered after `address`'s call succeeded: by then the
 * notifier has long passed any retry of the first, so a call it still meant to make would be seen.
 */
async function nothingMoreFor(address: string, expected: number) {
  const sentinel = newAddress();
  await invite(sentinel);
  await validateAndBind(sentinel);
  await until('the later call is delivered', () => callsFor(sentinel).some((c) => c.status === 200));
  await new Promise((resolve) => setTimeout(resolve, RETRY_MS + LEASE_MS));
  assert.equal(callsFor(address).length, expected, 'no call after the one that succeeded');
}

describe('onbind under kill -9 of the notifier', () => {
  it('is delivered once when the notifier dies between two attempts', async () => {
    const address = newAddress();
    await invite(address);
    world.homeserver.failOnbind(503, 1);
    await validateAndBind(address);
    await until('the first attempt failed', () => callsFor(address).length === 1);
    await killNotifier();
    await until('the call is delivered', () => callsFor(address).some((c) => c.status === 200));
    assert.deepEqual(
      callsFor(address).map((c) => c.status),
      [503, 200],
    );
    await nothingMoreFor(address, 2);
  });

  it('is delivered once when the notifier dies during an attempt', async () => {
    const address = newAddress();
    await invite(address);
    world.homeserver.holdOnbind(1);
    await validateAndBind(address);
    await until('an attempt is under way', () => callsFor(address).length === 1);
    await killNotifier();
    await until('the call is delivered', () => callsFor(address).some((c) => c.status === 200));
    // The held attempt never got an answer; the next, after its lease ran out, did.
    assert.deepEqual(
      callsFor(address).map((c) => c.status),
      [0, 200],
    );
    await nothingMoreFor(address, 2);
  });
});
