import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { loadSpec, type ObservedFetch, observedFetch } from '../spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret, registerUser } from '../system/flows.js';
import { type OutsideWorld, startOutsideWorld } from '../system/outside-world.js';
import { eventually, type RunningSystem, removeDataDir, startSystem } from '../system/running-system.js';

// Scale-out on one machine: a 3-node NATS JetStream cluster (streams with 3 replicas) and two
// replicas of gateway, session, directory and invite, their clients spreading calls over both.
// A load of validate-and-bind flows (a third of the addresses invited first, so that the
// homeserver gets an onbind call) goes through both gateways; once a quarter of the binds are
// answered, one NATS node and one replica of each of the four services get SIGKILL (the runner
// starts them again). Afterwards every bind answered 200 is found through both gateways, no
// onbind call was made twice and no address got a mail twice.

const FLOWS = 24;
const IN_FLIGHT = 6;
const V1 = '/_matrix/identity/api/v1';
const V2 = '/_matrix/identity/v2';
const SCALED = ['gateway', 'session', 'directory', 'invite'] as const;

let world: OutsideWorld;
let system: RunningSystem;
let gateways: [string, string];
let call: ObservedFetch;
let user: { token: string; userId: string };

before(async () => {
  world = await startOutsideWorld();
  system = await startSystem({
    env: {
      ...world.env,
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_LOCAL_NATS_NODES: '3',
      TESSERA_LOCAL_REPLICAS: SCALED.map((service) => `${service}=2`).join(','),
      // Long enough to wait across a stream leader's election and a projector catching up.
      TESSERA_BIND_VISIBLE_WAIT_MS: '30000',
      TESSERA_GRPC_MAX_CONNECTION_AGE_MS: '10000',
    },
    readyTimeoutMs: 240_000,
  });
  const second = system.state().services['gateway-2']?.httpUrl;
  assert.ok(second, 'the state file lists the second gateway and its URL');
  gateways = [system.baseUrl, second];
  call = observedFetch(loadSpec(), { baseUrl: system.baseUrl });
  user = await registerUser(call, world);
});
after(async () => {
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

type Flow = {
  index: number;
  address: string;
  mxid: string;
  invited: boolean;
  /** How far it got: the step that failed, or `bound`. */
  reached: string;
  bindStatus: number;
};

/** Through gateway `index % 2` (the invite and the link through the other one): requestToken, the mailed link, bind. */
async function runFlow(flow: Flow): Promise<void> {
  const mine = gateways[flow.index % 2] as string;
  const other = gateways[(flow.index + 1) % 2] as string;
  if (flow.invited) {
    const res = await fetch(
      `${other}${V2}/store-invite`,
      json(
        { medium: 'email', address: flow.address, room_id: '!scale:example.org', sender: user.userId },
        bearer(user.token),
      ),
    );
    await res.arrayBuffer();
    flow.reached = `store-invite ${res.status}`;
    if (res.status !== 200) return;
  }
  const clientSecret = newClientSecret();
  const sentAfter = Date.now();
  const requested = await fetch(
    `${mine}${V1}/validate/email/requestToken`,
    json({ client_secret: clientSecret, email: flow.address, send_attempt: 1 }),
  );
  flow.reached = `requestToken ${requested.status}`;
  if (requested.status !== 200) return void (await requested.arrayBuffer());
  const { sid } = (await requested.json()) as { sid: string };
  flow.reached = 'mail';
  const { token } = await mailTo(world.smtp, flow.address, sentAfter);
  const submitted = await fetch(
    `${other}${V1}/validate/email/submitToken`,
    json({ sid, client_secret: clientSecret, token }),
  );
  await submitted.arrayBuffer();
  flow.reached = `submitToken ${submitted.status}`;
  if (submitted.status !== 200) return;
  const bound = await fetch(`${mine}${V1}/3pid/bind`, json({ sid, client_secret: clientSecret, mxid: flow.mxid }));
  await bound.arrayBuffer();
  flow.reached = `bind ${bound.status}`;
  flow.bindStatus = bound.status;
}

async function lookup(gateway: string, address: string): Promise<string | undefined> {
  const res = await fetch(`${gateway}${V1}/lookup?medium=email&address=${encodeURIComponent(address)}`);
  assert.equal(res.status, 200, `lookup through ${gateway}`);
  return ((await res.json()) as { mxid?: string }).mxid;
}

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

/** How many times each value occurs. */
function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

const mailsTo = (address: string) => world.smtp.messages.filter((mail) => mail.to.includes(address));
const onbindCallsFor = (address: string) =>
  world.homeserver.onbindCalls.filter((c) => (c.body as { address?: string }).address === address);

it('finds every acknowledged bind through both gateways after kill -9 of a NATS node and a replica of each service, with no onbind or mail twice', async () => {
  const started = Date.now();
  const flows: Flow[] = Array.from({ length: FLOWS }, (_, index) => ({
    index,
    address: `scale-${index}-${Date.now()}@example.org`,
    // On the fake homeserver: the onbind call of an invited address goes there.
    mxid: `@scale-${index}:${world.homeserver.serverName}`,
    invited: index % 3 === 0,
    reached: 'not started',
    bindStatus: 0,
  }));
  let next = 0;
  let finished = 0;
  const worker = async () => {
    while (next < flows.length) {
      const flow = flows[next++] as Flow;
      // A flow cut by the kills was not acknowledged.
      await runFlow(flow).catch((err: Error) => {
        flow.reached += ` (${err.message.slice(0, 60)})`;
      });
      finished++;
    }
  };
  let killed = new Map<string, number>();
  const killer = async () => {
    await eventually(async () => finished >= FLOWS / 4, 120_000, 'a quarter of the flows finished');
    killed = killOneOfEach();
  };
  await Promise.all([killer(), ...Array.from({ length: IN_FLIGHT }, worker)]);
  assert.equal(killed.size, 1 + SCALED.length, 'a NATS node and a replica of each service were killed mid-load');

  for (const [name, pid] of killed)
    await eventually(
      async () => {
        const now = pidOf(name);
        return typeof now === 'number' && now !== pid;
      },
      60_000,
      `the runner restarting ${name}`,
    );
  await eventually(async () => (await fetch(`${gateways[1]}${V2}`)).ok, 60_000, 'the second gateway answering again');

  const acknowledged = flows.filter((flow) => flow.bindStatus === 200);
  console.log(
    `scale-out: ${acknowledged.length} of ${FLOWS} binds acknowledged; killed ${[...killed.keys()].join(', ')}; ` +
      `flows reached: ${JSON.stringify(tally(flows.map((flow) => flow.reached)))}`,
  );
  assert.ok(acknowledged.length >= FLOWS / 4, 'binds were acknowledged before and after the kills');
  for (const flow of acknowledged)
    for (const gateway of gateways)
      assert.equal(await lookup(gateway, flow.address), flow.mxid, `${flow.address} found through ${gateway}`);

  // Every acknowledged invited bind reaches the homeserver, once.
  const invitedBound = acknowledged.filter((flow) => flow.invited);
  assert.ok(invitedBound.length > 0, 'some invited addresses were bound');
  const undelivered = () => invitedBound.filter((flow) => !onbindCallsFor(flow.address).some((c) => c.status === 200));
  await eventually(async () => undelivered().length === 0, 60_000, 'every invited binding delivered').catch((err) => {
    const missing = undelivered().map((flow) => flow.index);
    throw new Error(`${(err as Error).message}: flows ${missing.join(', ')} of ${invitedBound.length} invited`);
  });
  for (const flow of flows) {
    assert.ok(onbindCallsFor(flow.address).length <= 1, `${flow.address}: no onbind call twice`);
    const validationMails = mailsTo(flow.address).filter((mail) => /submitToken/.test(mail.parsed.text ?? ''));
    assert.ok(validationMails.length <= 1, `${flow.address}: no validation mail twice`);
    assert.ok(mailsTo(flow.address).length - validationMails.length <= 1, `${flow.address}: no invite mail twice`);
  }
  console.log(`scale-out: load, kills and checks took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
