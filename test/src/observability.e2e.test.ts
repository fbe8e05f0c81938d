import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type OtlpReceiver, pollUntil, type ReceivedSpan, startOtlpReceiver } from '@tessera/test-harness';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { bearer, json, mailTo, newClientSecret, registerUser } from './system/flows.js';
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
    // The directory's server span under the gateway's client span for Bind, signing's under the directory's call.
    const directoryBind = spans.find(
      (s) => s.service === 'tessera-directory' && s.kind === 2 && s.name.endsWith('/Bind'),
    );
    assert.ok(directoryBind);
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
