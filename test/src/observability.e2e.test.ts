import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type OtlpReceiver, pollUntil, type ReceivedSpan, startOtlpReceiver } from '@tessera/test-harness';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret, registerUser } from './system/flows.js';
import { isOfFamily, observabilityExpressions, parsePromql } from './system/observability-files.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import { type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

// Traces on the whole running system, exported to a real OTLP/HTTP receiver on loopback.
const spec = loadSpec();
let world: OutsideWorld;
let receiver: OtlpReceiver;
let system: RunningSystem;
let call: ObservedFetch;
let user: { token: string; userId: string };

before(async () => {
  world = await startOutsideWorld();
  receiver = await startOtlpReceiver();
  system = await startSystem({
    env: { ...world.env, TESSERA_RATE_LIMITS: 'off', TESSERA_OTLP_ENDPOINT: receiver.endpoint },
  });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
  user = await registerUser(call, world);
});
after(async () => {
  await system?.stop();
  await receiver?.close();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

const V2 = '/_matrix/identity/v2';

/** A W3C traceparent of the test's own, so that the trace the request starts can be found by its id. */
function newTraceparent() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

/** Waits until spans of the trace came from every one of `services`. */
function spansOfTrace(traceId: string, services: string[]): Promise<ReceivedSpan[]> {
  return pollUntil(
    `spans of trace ${traceId} from ${services.join(', ')} reached the receiver`,
    () => {
      const spans = receiver.spans().filter((span) => span.traceId === traceId);
      const from = new Set(spans.map((span) => span.service));
      return services.every((service) => from.has(`tessera-${service}`)) ? spans : undefined;
    },
    30_000, // the services export in batches, every few seconds
  );
}

const listed = (spans: ReceivedSpan[]) => spans.map((span) => `${span.service} ${span.kind} ${span.name}`).join('; ');

async function validatedSession(address: string, traceparent?: string) {
  const clientSecret = newClientSecret();
  const sentAfter = Date.now();
  const requested = await call<{ sid: string }>(
    `${V2}/validate/email/requestToken`,
    json(
      { client_secret: clientSecret, email: address, send_attempt: 1 },
      { ...bearer(user.token), ...(traceparent ? { traceparent } : {}) },
    ),
  );
  assert.equal(requested.status, 200, requested.text);
  const { link } = await mailTo(world.smtp, address, sentAfter);
  assert.equal((await fetch(link)).status, 200);
  return { sid: requested.body.sid, clientSecret };
}

describe('traces', () => {
  it('one bind gives one trace spanning gateway, directory, signing and projector, every span linked to its parent', async () => {
    const address = `traced-${Date.now()}@example.org`;
    const session = await validatedSession(address);
    const trace = newTraceparent();
    const bound = await call(
      `${V2}/3pid/bind`,
      json(
        { sid: session.sid, client_secret: session.clientSecret, mxid: user.userId },
        {
          ...bearer(user.token),
          traceparent: trace.header,
        },
      ),
    );
    assert.equal(bound.status, 200, bound.text);

    const spans = await spansOfTrace(trace.traceId, ['gateway', 'directory', 'signing', 'projector']);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const root = spans.find((span) => span.parentSpanId === trace.spanId);
    assert.ok(root, "the gateway's span is a child of the caller's");
    assert.equal(root.service, 'tessera-gateway');
    assert.equal(root.kind, 2); // server
    assert.equal(root.name, 'POST /v2/3pid/bind');
    assert.equal(root.attributes['http.response.status_code'], 200);
    // One tree: every other span's parent is a span of this trace.
    for (const span of spans)
      if (span !== root)
        assert.ok(byId.has(span.parentSpanId ?? ''), `${span.service} ${span.name} hangs off a span of the trace`);
    const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId ?? '');
    // (Servers name a method as its handler, `bind`; clients as the proto does, `Bind`.)
    // The directory's server span under the gateway's client span for Bind, signing's under the directory's call.
    const directoryBind = spans.find(
      (s) => s.service === 'tessera-directory' && s.kind === 2 && s.name.toLowerCase().endsWith('/bind'),
    );
    assert.ok(directoryBind, `the directory's Bind span is in the trace: ${listed(spans)}`);
    assert.equal(parentOf(directoryBind)?.service, 'tessera-gateway');
    assert.equal(parentOf(directoryBind)?.kind, 3); // client
    const signed = spans.find((s) => s.service === 'tessera-signing' && s.kind === 2);
    assert.ok(signed);
    assert.equal(parentOf(signed)?.service, 'tessera-directory');
    // The projector's span under the directory's append of AssociationBound, through the message's headers.
    const projected = spans.find((s) => s.service === 'tessera-projector' && s.kind === 5);
    assert.ok(projected);
    const append = parentOf(projected);
    assert.equal(append?.service, 'tessera-directory');
    assert.equal(append?.name, 'append tessera.assoc');
    assert.equal(append?.kind, 4); // producer
    // Nothing private in any span: neither the address nor the user ID.
    for (const span of spans) {
      const text = JSON.stringify(span);
      assert.ok(!text.includes(address) && !text.includes(user.userId), `${span.name} holds no address or user ID`);
    }
  });

  it("a requestToken's trace goes through the session service and its event to the notifier that sends the mail", async () => {
    const trace = newTraceparent();
    await validatedSession(`mailed-${Date.now()}@example.org`, trace.header);
    const spans = await spansOfTrace(trace.traceId, ['gateway', 'session', 'notifier']);
    const consumed = spans.find((span) => span.service === 'tessera-notifier' && span.kind === 5);
    assert.ok(consumed, "the notifier's consumer span is in the request's trace");
    const producer = spans.find((span) => span.spanId === consumed.parentSpanId);
    assert.equal(producer?.service, 'tessera-session');
    assert.equal(producer?.kind, 4);
  });
});

// What each service's /metrics must hold, beside Node's process metrics (process_cpu_seconds_total…).
const GRPC_SERVER = [
  'tessera_grpc_server_handled_total',
  'tessera_grpc_server_handling_seconds',
  'tessera_grpc_server_refused_total',
];
const GRPC_CLIENT = ['tessera_grpc_client_handled_total', 'tessera_grpc_client_handling_seconds'];
const FAMILIES: Record<string, string[]> = {
  gateway: ['tessera_http_requests_total', 'tessera_http_request_duration_seconds', ...GRPC_CLIENT],
  session: [...GRPC_SERVER],
  signing: [...GRPC_SERVER, 'tessera_signing_signatures_total', 'tessera_signing_ephemeral_keypairs_total'],
  directory: [...GRPC_SERVER, ...GRPC_CLIENT],
  invite: [
    ...GRPC_SERVER,
    ...GRPC_CLIENT,
    'tessera_consumer_lag_messages',
    'tessera_invite_oldest_pending_onbind_age_seconds',
  ],
  projector: ['tessera_projection_lag_events', 'tessera_projection_applied_total'],
  notifier: [
    'tessera_consumer_lag_messages',
    'tessera_notifier_messages_sent_total',
    'tessera_notifier_messages_failed_total',
    'tessera_notifier_onbind_attempts_total',
  ],
};

/** A service's /metrics, as the runner's state file names its port. */
async function scrape(service: string): Promise<string> {
  const port = system.state().services[service]?.metricsPort;
  assert.ok(port, `the state file names ${service}'s metrics port`);
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200, `${service} /metrics`);
  return res.text();
}

const familiesIn = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] ?? ''));
const samplesOf = (text: string, family: string) =>
  [...text.matchAll(new RegExp(`^${family}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((match) => ({
    labels: match[1] ?? '',
    value: Number(match[2]),
  }));

describe('metrics', () => {
  it("every service's metrics endpoint answers, with the families of what it does under unit-suffixed names", async () => {
    assert.deepEqual(Object.keys(system.state().services).sort(), Object.keys(FAMILIES).sort());
    for (const [service, expected] of Object.entries(FAMILIES)) {
      const text = await scrape(service);
      const families = familiesIn(text);
      for (const family of [...expected, 'process_cpu_seconds_total'])
        assert.ok(families.has(family), `${service} exports ${family}`);
      for (const family of families)
        if (family.startsWith('tessera_'))
          assert.match(family, /_(total|seconds|messages|events|bytes|held)$/, `${service}: ${family} names its unit`);
    }
  });

  it('consumer lag is reported per durable, and the calls of a bind are counted by method and code on both sides', async () => {
    const invite = await scrape('invite');
    const lag = samplesOf(invite, 'tessera_consumer_lag_messages');
    assert.ok(
      lag.some((sample) => /durable="invite-bindings"/.test(sample.labels)),
      invite,
    );
    for (const sample of lag) assert.ok(Number.isFinite(sample.value) && sample.value >= 0, sample.labels);
    const notifier = await scrape('notifier');
    assert.ok(samplesOf(notifier, 'tessera_consumer_lag_messages').length >= 3, 'tokens, invites and onbind consumers');
    // The bind of the first test went gateway -> directory -> signing.
    const gateway = samplesOf(await scrape('gateway'), 'tessera_grpc_client_handled_total');
    assert.ok(
      gateway.some((s) =>
        /method="tessera.directory.v1.DirectoryService\/Bind",.*code="OK"|code="OK".*method="tessera.directory.v1.DirectoryService\/Bind"/.test(
          s.labels,
        ),
      ),
    );
    const signing = samplesOf(await scrape('signing'), 'tessera_signing_signatures_total');
    assert.ok(
      signing.some((s) => /caller="directory"/.test(s.labels) && s.value > 0),
      'signatures counted by caller',
    );
  });

  it('every metric the dashboard and the alert rules name is one the services export', async () => {
    const exported = new Set<string>();
    for (const service of Object.keys(FAMILIES))
      for (const family of familiesIn(await scrape(service))) exported.add(family);
    // `up` is Prometheus' own: 1 while it scrapes a target.
    for (const { where, expr } of observabilityExpressions())
      for (const metric of parsePromql(expr).metrics)
        assert.ok(
          metric === 'up' || isOfFamily(metric, exported),
          `${where} names ${metric}, which no service exports`,
        );
  });
});
