import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeEnvelope, HEADER } from '@tessera/event-store';
import { connectAsIdentity } from '@tessera/test-harness';
import type { NatsConnection } from 'nats';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { json, mailTo, newClientSecret } from './system/flows.js';
import { type OutsideWorld, startOutsideWorld } from './system/outside-world.js';
import {
  type RunningSystem,
  removeDataDir,
  type ServiceLogLine,
  serviceLogLines,
  startSystem,
} from './system/running-system.js';

// One request followed through the whole running system by its correlation id: the gateway's
// log, the session service's log, the event in the stream and the notifier's line for the mail.
const spec = loadSpec();
let world: OutsideWorld;
let system: RunningSystem;
let call: ObservedFetch;
let admin: NatsConnection;

before(async () => {
  world = await startOutsideWorld();
  system = await startSystem({ env: { ...world.env, TESSERA_RATE_LIMITS: 'off' } });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
  const natsUrl = system.state().natsUrl;
  assert.ok(natsUrl);
  admin = await connectAsIdentity(natsUrl, 'admin', join(system.dataDir, 'nats', 'identities', 'admin.nk'));
});
after(async () => {
  await admin?.close().catch(() => {});
  await system?.stop();
  await world?.close();
  if (system) removeDataDir(system.dataDir);
});

/** Waits for a log line of `service` carrying the correlation id (lines reach the runner a moment after they happen). */
async function lineOf(service: string, correlationId: string, msg?: string): Promise<ServiceLogLine> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const line = serviceLogLines(system).find(
      (entry) =>
        entry.service === service && entry.correlationId === correlationId && (msg === undefined || entry.msg === msg),
    );
    if (line) return line;
    if (Date.now() > deadline)
      assert.fail(`no ${service} log line with correlation id ${correlationId} (${msg ?? 'any'})`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

describe('correlation ids', () => {
  it("follow a requestToken from the gateway's log through session's log and the stream to the notifier's mail line", async () => {
    const email = `corr-${randomUUID()}@example.org`;
    const res = await call<{ sid: string }>(
      '/_matrix/identity/api/v1/validate/email/requestToken',
      json({ client_secret: newClientSecret(), email, send_attempt: 1 }),
    );
    assert.equal(res.status, 200, res.text);
    const correlationId = res.headers.get('x-request-id');
    assert.ok(correlationId, 'the answer names its request');
    await mailTo(world.smtp, email);

    const gateway = await lineOf('gateway', correlationId, 'request');
    assert.equal(gateway.route, '/api/v1/validate/email/requestToken');
    await lineOf('session', correlationId);
    await lineOf('notifier', correlationId, 'validation message sent');

    const stored = await (await admin.jetstreamManager()).streams.getMessage('TESSERA_SHORT', {
      last_by_subj: `tessera.session.${res.body.sid}`,
    });
    assert.equal(stored.header.get(HEADER.correlationId), correlationId);
    const envelope = decodeEnvelope(stored.data);
    assert.equal(envelope.correlationId, correlationId);
    assert.ok(envelope.events.some((event) => event.type === 'TokenIssued'));
  });

  it("takes a caller's X-Request-Id as the correlation id of everything it causes", async () => {
    const requestId = `proxy-${randomUUID()}`;
    const email = `corr-${randomUUID()}@example.org`;
    const res = await call<{ sid: string }>(
      '/_matrix/identity/api/v1/validate/email/requestToken',
      json({ client_secret: newClientSecret(), email, send_attempt: 1 }, { 'X-Request-Id': requestId }),
    );
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-request-id'), requestId);
    await mailTo(world.smtp, email);
    await lineOf('notifier', requestId, 'validation message sent');
  });
});
