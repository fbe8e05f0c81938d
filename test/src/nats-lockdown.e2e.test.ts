import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeEnvelope, newEvent } from '@tessera/event-store';
import {
  appendProbe,
  connectAsIdentity,
  connectOutcome,
  consumeProbe,
  directGetBySeqProbe,
  directGetProbe,
  kvCreateProbe,
  kvGetProbe,
  streamDeleteProbe,
  streamInfoProbe,
  streamPurgeProbe,
  subscribeProbe,
} from '@tessera/test-harness';
import { connect, type NatsConnection } from 'nats';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { json } from './system/flows.js';
import { type RunningSystem, removeDataDir, startSystem } from './system/running-system.js';

// NATS under the local runner, attacked as a local process would: without credentials, and with
// each service's own credentials (as a compromised service would hold them).
const spec = loadSpec();
const SERVICES = ['signing', 'session', 'notifier', 'gateway'] as const;
const STREAMS = ['TESSERA_SHORT', 'TESSERA_EVENTS'];
const DATA_KEYS = 'tessera_data_keys';

let system: RunningSystem;
let call: ObservedFetch;
let natsUrl: string;
const connections = new Map<string, NatsConnection>();
const as = (identity: string) => {
  const nc = connections.get(identity);
  assert.ok(nc, `connected as ${identity}`);
  return nc;
};

before(async () => {
  system = await startSystem({ env: { TESSERA_RATE_LIMITS: 'off' } });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
  const url = system.state().natsUrl;
  assert.ok(url);
  natsUrl = url;
  for (const identity of [...SERVICES, 'analytics', 'admin'])
    connections.set(identity, await connectAsIdentity(natsUrl, identity, identityFile(identity)));
});
after(async () => {
  for (const nc of connections.values()) await nc.close().catch(() => {});
  await system?.stop();
  if (system) removeDataDir(system.dataDir);
});

const identityFile = (identity: string) => join(system.dataDir, 'nats', 'identities', `${identity}.nk`);

/** A validation session started through the API, as a client would: its sid and client secret. */
async function startSession(): Promise<{ sid: string; clientSecret: string }> {
  const clientSecret = `cs-${randomUUID()}`;
  const res = await call<{ sid: string }>(
    '/_matrix/identity/api/v1/validate/email/requestToken',
    json({ client_secret: clientSecret, email: `lock-${randomUUID()}@example.org`, send_attempt: 1 }),
  );
  assert.equal(res.status, 200, res.text);
  return { sid: res.body.sid, clientSecret };
}

const validated3pid = (sid: string, clientSecret: string) =>
  call(`/_matrix/identity/api/v1/3pid/getValidated3pid?sid=${sid}&client_secret=${clientSecret}`);

/** The message an attacker would append: SessionValidated for `sid`, in a well-formed envelope. */
function forgedValidation(sid: string): Uint8Array {
  return encodeEnvelope({
    decisionId: randomUUID(),
    aggregate: `session.${sid}`,
    correlationId: 'forged',
    recordedAt: new Date(),
    schemaVersion: 1,
    events: [newEvent({ $case: 'sessionValidated', value: { sid } }, new Date())],
  });
}

describe('NATS under the local runner', () => {
  it('refuses a client without credentials, and has no monitoring endpoint', async () => {
    assert.equal(await connectOutcome(() => connect({ servers: natsUrl, maxReconnectAttempts: 0 })), 'refused');
    const config = readFileSync(join(system.dataDir, 'nats', 'nats-server.conf'), 'utf8');
    assert.doesNotMatch(config, /^\s*(http|https|http_port|https_port|monitor_port)\s*:/m);
    assert.match(config, /authorization \{/);
  });

  it('lets no service append to another service’s aggregates', async () => {
    const others: Record<(typeof SERVICES)[number], string[]> = {
      signing: ['session', 'delivery', 'account', 'assoc'],
      session: ['delivery', 'key', 'assoc', 'invite'],
      notifier: ['session', 'account', 'terms', 'key', 'assoc'],
      gateway: ['session', 'delivery', 'account', 'key', 'assoc'],
    };
    for (const service of SERVICES)
      for (const type of others[service])
        assert.equal(await appendProbe(as(service), `tessera.${type}.probe`), 'refused', `${service} → ${type}`);
  });

  it('refuses a forged SessionValidated from the notifier’s and the gateway’s credentials; the session stays unvalidated', async () => {
    const { sid, clientSecret } = await startSession();
    for (const identity of ['notifier', 'gateway', 'analytics'])
      assert.equal(
        await appendProbe(as(identity), `tessera.session.${sid}`, forgedValidation(sid)),
        'refused',
        identity,
      );
    const res = await validated3pid(sid, clientSecret);
    assert.equal(res.status, 400, res.text);
    assert.equal((res.body as { errcode: string }).errcode, 'M_SESSION_NOT_VALIDATED');

    // The control: the same message, appended with the one identity allowed to write anything,
    // does validate a session, so the refusals above are what kept it out.
    const control = await startSession();
    assert.equal(
      await appendProbe(as('admin'), `tessera.session.${control.sid}`, forgedValidation(control.sid)),
      'allowed',
    );
    assert.equal((await validated3pid(control.sid, control.clientSecret)).status, 200);
  });

  it('lets no service delete or purge a stream, or purge one session’s subject', async () => {
    const { sid } = await startSession();
    for (const service of [...SERVICES, 'analytics'])
      for (const stream of STREAMS) {
        assert.equal(await streamDeleteProbe(as(service), stream), 'refused', `${service} deletes ${stream}`);
        assert.equal(await streamPurgeProbe(as(service), stream), 'refused', `${service} purges ${stream}`);
        assert.equal(await streamPurgeProbe(as(service), stream, `tessera.session.${sid}`), 'refused');
      }
    const jsm = await as('admin').jetstreamManager();
    for (const stream of STREAMS) assert.ok((await jsm.streams.info(stream)).state.messages > 0, `${stream} is whole`);
    await assert.rejects(
      jsm.streams.purge('TESSERA_EVENTS'),
      /not permitted/,
      'even admin cannot purge the lasting stream',
    );
  });

  it('keeps the data-key bucket from the services that neither seal nor open, and each to its own aggregate types', async () => {
    const { sid } = await startSession();
    const sessionKey = `session.${sid}`;
    assert.equal(await kvGetProbe(as('session'), DATA_KEYS, sessionKey), 'allowed');
    assert.equal(await kvGetProbe(as('notifier'), DATA_KEYS, sessionKey), 'allowed');
    assert.equal(
      await kvCreateProbe(as('notifier'), DATA_KEYS, `session.${randomUUID()}`),
      'refused',
      'notifier only opens',
    );
    for (const identity of ['gateway', 'signing', 'analytics']) {
      assert.equal(await kvGetProbe(as(identity), DATA_KEYS, sessionKey), 'refused', identity);
      assert.equal(await directGetBySeqProbe(as(identity), `KV_${DATA_KEYS}`, 1), 'refused', identity);
      assert.equal(await subscribeProbe(as(identity), `$KV.${DATA_KEYS}.>`), 'refused', identity);
    }
    assert.equal(await kvGetProbe(as('notifier'), DATA_KEYS, 'assoc.anything'), 'refused');
  });

  it('lets analytics read the lasting stream and nothing else', async () => {
    const analytics = as('analytics');
    assert.equal(await streamInfoProbe(analytics, 'TESSERA_EVENTS'), 'allowed');
    assert.equal(await directGetProbe(analytics, 'TESSERA_EVENTS', 'tessera.key.ed25519:0'), 'allowed');
    assert.equal(await consumeProbe(analytics, 'TESSERA_EVENTS', 'analytics', 'tessera.>'), 'allowed');
    assert.equal(await streamInfoProbe(analytics, 'TESSERA_SHORT'), 'refused');
    assert.equal(await directGetBySeqProbe(analytics, 'TESSERA_SHORT', 1), 'refused');
    assert.equal(await consumeProbe(analytics, 'TESSERA_SHORT', 'analytics', 'tessera.session.>'), 'refused');
    assert.equal(await appendProbe(analytics, 'tessera.key.probe'), 'refused');
    assert.equal(await kvGetProbe(analytics, 'tessera_rate_limits', 'ip.x'), 'refused');
    assert.equal(await subscribeProbe(analytics, 'tessera.>'), 'refused');
    assert.equal(await subscribeProbe(analytics, '_INBOX_notifier.>'), 'refused');
  });

  it('gives each service its own credentials file and nothing else of NATS', () => {
    for (const service of SERVICES) {
      const pid = system.state().services[service]?.pid;
      assert.ok(pid, `${service} runs`);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes(`TESSERA_NATS_CREDENTIALS_FILE=${identityFile(service)}`), service);
      const all = environ.join('\n');
      for (const other of [...SERVICES, 'admin', 'analytics'])
        if (other !== service) assert.ok(!all.includes(identityFile(other)), `${service} knows ${other}'s file`);
      assert.ok(!all.includes('TESSERA_NATS_IDENTITIES_DIR'), service);
    }
  });
});
