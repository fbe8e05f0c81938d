import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { bearer, json, mailTo, newClientSecret } from '../system/flows.js';
import { type OutsideWorld, startOutsideWorld } from '../system/outside-world.js';
import { eventually, type RunningSystem, replicaReady, serviceLogLines } from '../system/running-system.js';
import { startSystemWithUser, stopSystemAndWorld } from '../system/system-with-user.js';
import { type Answer, type BalancedClient, balancedClient, type Repeatable } from './balanced-client.js';

// Scale-out on one machine: a 3-node NATS JetStream cluster (streams with 3 replicas) and two
// replicas of gateway, session, directory and invite, their clients spreading calls over both.
// A load of validate-bind-lookup flows (a third of the addresses invited first, so that the
// homeserver gets an onbind call) goes through both gateways, as through a load balancer: a step
// that fails with a 503 or a lost connection is sent again through the other gateway, the same
// client_secret, send_attempt and sid each time. Once a few flows are done, one NATS node and one
// replica of each of the four services get SIGKILL (the runner starts them again); the load goes on
// until every killed process is back and ready, and for some flows after that. A clear majority of
// the flows must be acknowledged, some of them after the kills; every bind answered 200 is found
// through both gateways, every invited one reaches the homeserver exactly once, and no address
// gets a mail twice (the repeats sent the same thing again).

const IN_FLIGHT = 6;
/** Flows finished before the kills. */
const BEFORE_KILLS = 6;
/** Flows started once every killed process is back. */
const AFTER_RECOVERY = 8;
/** Far above what the load needs: only a recovery that never ends reaches it. */
const MAX_FLOWS = 200;
/**
 * The share of flows that must be acknowledged among those a load balancer can carry through:
 * flows past store-invite, whose every step may be sent again. A store-invite answered 503 or cut
 * while the killed processes come back is not sent again (it would store and mail a second
 * invite), so those flows end there and are left out of the count. Measured runs here
 * acknowledged 91 to 100 % of all flows (21 of 23, 48 of 51, 62 of 64, 84 of 87, 20 of 20, 23 of
 * 24, 123 of 126), every one past store-invite but 3 of 78 once the tries covered 16 s of 503s.
 */
const ACKNOWLEDGED_AT_LEAST = 0.8;
const V1 = '/_matrix/identity/api/v1';
const V2 = '/_matrix/identity/v2';
const SCALED = ['gateway', 'session', 'directory', 'invite'] as const;

let world: OutsideWorld;
let system: RunningSystem;
let gateways: [string, string];
let user: { token: string; userId: string };
let client: BalancedClient;

before(async () => {
  world = await startOutsideWorld();
  ({ system, user } = await startSystemWithUser(world, {
    env: {
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_LOCAL_NATS_NODES: '3',
      TESSERA_LOCAL_REPLICAS: SCALED.map((service) => `${service}=2`).join(','),
      // Long enough to wait across a stream leader's election and a projector catching up.
      TESSERA_BIND_VISIBLE_WAIT_MS: '30000',
      TESSERA_GRPC_MAX_CONNECTION_AGE_MS: '10000',
    },
    readyTimeoutMs: 240_000,
  }));
  const second = system.state().services['gateway-2']?.httpUrl;
  assert.ok(second, 'the state file lists the second gateway and its URL');
  gateways = [system.baseUrl, second];
  // Twenty tries, pausing 0.1 s doubling to 2 s after a 503 or a lost connection (none after a
  // refused one, which uses a try too): about 16 s of 503s are waited out while gateway-2 is down,
  // as long as the killed processes took to come back in measured runs (5–17.5 s).
  client = balancedClient(gateways, { tries: 20, pauseMs: (attempt) => Math.min(2_000, 100 * 2 ** attempt) });
});
after(() => stopSystemAndWorld(system, world));

type Flow = {
  index: number;
  address: string;
  mxid: string;
  invited: boolean;
  /** How far it got: the step that failed and how, or `bound`. */
  reached: string;
  /** When the bind was answered 200 (ms since the epoch). */
  boundAt?: number;
  /** Who a lookup right after the bind found, through the other gateway. */
  foundRightAfter?: string | null;
};

/** Every answer other than 200 or 503: a service failing in a way no client should see. */
const unexpected: string[] = [];

/** Sends a step of `flow` (see balancedClient), first through gateway `first`; notes how far the flow got. */
async function step(
  flow: Flow,
  name: string,
  first: number,
  repeatable: Repeatable,
  request: (gateway: string) => Promise<Response>,
): Promise<Answer | null> {
  flow.reached = name;
  const answer = await client.send(name, first, repeatable, request);
  flow.reached = answer.status === 200 ? name : `${name} ${answer.status} via ${gatewayName(answer.gateway)}`;
  if (answer.status !== 200 && answer.status !== 503)
    unexpected.push(`flow ${flow.index} ${name} via ${gatewayName(answer.gateway)}: ${answer.status} ${answer.text}`);
  return answer.status === 200 ? answer : null;
}

/**
 * Store-invite through the other gateway (invited flows), requestToken through the flow's own,
 * the mailed token submitted through the other, bind through its own, a lookup through the other.
 */
async function runFlow(flow: Flow): Promise<void> {
  const mine = flow.index % 2;
  const other = (flow.index + 1) % 2;
  if (flow.invited) {
    const invite = { medium: 'email', address: flow.address, room_id: '!scale:example.org', sender: user.userId };
    const stored = await step(flow, 'store-invite', other, 'refused-only', (gateway) =>
      fetch(`${gateway}${V2}/store-invite`, json(invite, bearer(user.token))),
    );
    if (!stored) return;
  }
  const session = { client_secret: newClientSecret(), email: flow.address, send_attempt: 1 };
  const sentAfter = Date.now();
  const requested = await step(flow, 'requestToken', mine, 'idempotent', (gateway) =>
    fetch(`${gateway}${V1}/validate/email/requestToken`, json(session)),
  );
  if (!requested) return;
  const { sid } = JSON.parse(requested.text) as { sid: string };
  flow.reached = 'mail';
  // A client waits for its mail; the notifier may be reconnecting to the cluster.
  const { token } = await mailTo(world.smtp, flow.address, sentAfter, 30_000);
  const validated = { sid, client_secret: session.client_secret };
  const submitted = await step(flow, 'submitToken', other, 'idempotent', (gateway) =>
    fetch(`${gateway}${V1}/validate/email/submitToken`, json({ ...validated, token })),
  );
  if (!submitted) return;
  const bound = await step(flow, 'bind', mine, 'idempotent', (gateway) =>
    fetch(`${gateway}${V1}/3pid/bind`, json({ ...validated, mxid: flow.mxid })),
  );
  if (!bound) return;
  flow.boundAt = Date.now();
  flow.reached = 'bound';
  const found = await step(flow, 'lookup', other, 'idempotent', (gateway) => fetch(lookupUrl(gateway, flow.address)));
  flow.reached = 'bound';
  if (found) flow.foundRightAfter = (JSON.parse(found.text) as { mxid?: string }).mxid ?? null;
}

const lookupUrl = (gateway: string, address: string) =>
  `${gateway}${V1}/lookup?medium=email&address=${encodeURIComponent(address)}`;

async function lookup(gateway: string, address: string): Promise<string | undefined> {
  const res = await fetch(lookupUrl(gateway, address));
  assert.equal(res.status, 200, `lookup through ${gateway}`);
  return ((await res.json()) as { mxid?: string }).mxid;
}

const gatewayName = (url: string) => (url === gateways[0] ? 'gateway' : 'gateway-2');

/** SIGKILL to one NATS node and to the second replica of each scaled service; the pids killed. */
function killOneOfEach(): Map<string, number> {
  const state = system.state();
  const killed = new Map<string, number>();
  const node = state.nats?.nodes?.[1];
  assert.ok(node?.pid, 'the state file lists the NATS nodes');
  killed.set(node.name, node.pid);
  for (const service of SCALED) {
    const pid = state.services[`${service}-2`]?.pid;
    assert.ok(pid, `the state file lists ${service}-2`);
    killed.set(`${service}-2`, pid);
  }
  for (const pid of killed.values()) process.kill(pid, 'SIGKILL');
  return killed;
}

/** The pid the state file gives `name` now: a service replica or a NATS node. */
function pidOf(name: string): number | null | undefined {
  const state = system.state();
  return state.services[name]?.pid ?? state.nats?.nodes?.find((node) => node.name === name)?.pid;
}

/** Started again by the runner and, a service, ready (its /readyz answers 200). */
async function isBack(name: string, killedPid: number): Promise<boolean> {
  const now = pidOf(name);
  if (typeof now !== 'number' || now === killedPid) return false;
  return system.state().services[name] === undefined || (await replicaReady(system, name));
}

/** How many times each value occurs. */
function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mailsTo = (address: string) => world.smtp.messages.filter((mail) => mail.to.includes(address));
const onbindCallsFor = (address: string) =>
  world.homeserver.onbindCalls.filter((c) => (c.body as { address?: string }).address === address);

it('acknowledges most flows through both gateways across kill -9 of a NATS node and a replica of each service, finds every acknowledged bind, and delivers no onbind or mail twice', async () => {
  const started = Date.now();
  const flows: Flow[] = [];
  const newFlow = (index: number): Flow => ({
    index,
    address: `scale-${index}-${Date.now()}@example.org`,
    // On the fake homeserver: the onbind call of an invited address goes there.
    mxid: `@scale-${index}:${world.homeserver.serverName}`,
    invited: index % 3 === 0,
    reached: 'not started',
  });
  let finished = 0;
  let killedAt: number | undefined;
  let backAt: number | undefined;
  let startedAfterBack = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && flows.length < MAX_FLOWS && (backAt === undefined || startedAfterBack < AFTER_RECOVERY)) {
      const flow = newFlow(flows.length);
      flows.push(flow);
      if (backAt !== undefined) startedAfterBack++;
      // A flow the retries could not carry through was not acknowledged.
      await runFlow(flow).catch((err: Error) => {
        flow.reached += ` (${err.message.slice(0, 60)})`;
      });
      finished++;
    }
  };
  let killed = new Map<string, number>();
  const killer = async () => {
    try {
      await eventually(async () => finished >= BEFORE_KILLS, 120_000, `${BEFORE_KILLS} flows finished`);
      killed = killOneOfEach();
      killedAt = Date.now();
      for (const [name, pid] of killed)
        await eventually(() => isBack(name, pid), 90_000, `the runner restarting ${name}, ready`);
      backAt = Date.now();
    } finally {
      if (backAt === undefined) stopped = true;
    }
  };
  await Promise.all([killer(), ...Array.from({ length: IN_FLIGHT }, worker)]);
  const loadEnded = Date.now();
  assert.equal(killed.size, 1 + SCALED.length, 'a NATS node and a replica of each service were killed mid-load');
  assert.ok(killedAt !== undefined && backAt !== undefined);

  const acknowledged = flows.filter((flow) => flow.boundAt !== undefined);
  const invitedBound = acknowledged.filter((flow) => flow.invited);
  const undelivered = () => invitedBound.filter((flow) => !onbindCallsFor(flow.address).some((c) => c.status === 200));
  const undeliveredAtLoadEnd = undelivered().length;
  const afterKills = acknowledged.filter((flow) => (flow.boundAt as number) > (killedAt as number));
  const afterRecovery = acknowledged.filter((flow) => (flow.boundAt as number) > (backAt as number));
  console.log(
    `scale-out: ${acknowledged.length} of ${flows.length} flows acknowledged, ${afterKills.length} after the kills ` +
      `(${afterRecovery.length} after every killed process was back, ${seconds(backAt - killedAt)} after the kills); ` +
      `killed ${[...killed.keys()].join(', ')}; load ${seconds(loadEnded - started)}\n` +
      `scale-out: flows reached ${JSON.stringify(tally(flows.map((flow) => flow.reached)))}\n` +
      `scale-out: sent again after ${JSON.stringify(tally(client.retried.map((r) => `${r.step} via ${gatewayName(r.gateway)}: ${r.why}`)))}`,
  );
  // What the services said of failures other than "unavailable", to name the cause of an unexpected answer.
  const failures = serviceLogLines(system).filter(
    (line) => line.level === 'error' || line.level === 'fatal' || (line.grpcCode !== undefined && line.grpcCode !== 14),
  );
  assert.deepEqual(unexpected, [], `every answer was 200 or 503; the services logged ${JSON.stringify(failures)}`);
  const carried = flows.filter((flow) => !flow.reached.startsWith('store-invite'));
  assert.ok(
    acknowledged.length >= ACKNOWLEDGED_AT_LEAST * carried.length,
    `at least ${ACKNOWLEDGED_AT_LEAST * 100} % of the ${carried.length} flows past store-invite acknowledged`,
  );
  assert.ok(afterKills.length > 0, 'binds were acknowledged after the kills');
  assert.ok(afterRecovery.length > 0, 'binds were acknowledged once every killed process was back');

  // Bound means findable: at once, and through either gateway afterwards.
  for (const flow of acknowledged)
    if (flow.foundRightAfter !== undefined)
      assert.equal(flow.foundRightAfter, flow.mxid, `${flow.address} found right after its bind`);
  for (const flow of acknowledged)
    for (const gateway of gateways)
      assert.equal(await lookup(gateway, flow.address), flow.mxid, `${flow.address} found through ${gateway}`);

  // Every acknowledged invited bind reaches the homeserver, once.
  assert.ok(invitedBound.length > 0, 'some invited addresses were bound');
  // A binding the killed invite replica held unacknowledged comes back to the other one after the
  // consumer's ack wait (10 s after its last heartbeat), and the bindings after it wait in order:
  // the last was delivered 14 s after the kills in measured runs (60 s when the ack wait was 60 s).
  await eventually(async () => undelivered().length === 0, 45_000, 'every invited binding delivered').catch((err) => {
    const missing = undelivered().map((flow) => flow.index);
    throw new Error(`${(err as Error).message}: flows ${missing.join(', ')} of ${invitedBound.length} invited`);
  });
  console.log(
    `scale-out: ${invitedBound.length} invited binds, ${undeliveredAtLoadEnd} waiting for onbind when the load ended, ` +
      `the last delivered ${seconds(Date.now() - killedAt)} after the kills`,
  );
  for (const flow of invitedBound)
    assert.equal(onbindCallsFor(flow.address).length, 1, `${flow.address}: one onbind call, answered 200`);
  for (const flow of flows) {
    assert.ok(onbindCallsFor(flow.address).length <= 1, `${flow.address}: no onbind call twice`);
    const validationMails = mailsTo(flow.address).filter((mail) => /submitToken/.test(mail.parsed.text ?? ''));
    assert.ok(validationMails.length <= 1, `${flow.address}: no validation mail twice`);
    assert.ok(mailsTo(flow.address).length - validationMails.length <= 1, `${flow.address}: no invite mail twice`);
  }
  console.log(`scale-out: load, kills and checks took ${seconds(Date.now() - started)}`);
});
