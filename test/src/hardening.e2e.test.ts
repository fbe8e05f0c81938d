import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChannelCredentials, type ServiceError, status } from '@grpc/grpc-js';
import { SessionServiceClient } from '@tessera/proto/tessera/session/v1/session';
import { createDeadlineClient } from '@tessera/service-kit';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { json } from './system/flows.js';
import {
  eventually,
  freePort,
  isAccessLogLine,
  type RunningSystem,
  removeDataDir,
  serviceLogLines,
  startSystem,
} from './system/running-system.js';

// Issue 7, items 4 and 6, on the whole running system: who may call session, and how the gateway
// answers what is malformed or what it cannot reach, and what that leaves in the logs.
const spec = loadSpec();
let system: RunningSystem;
let call: ObservedFetch;

before(async () => {
  // Loopback reachable from the session service: the "unreachable homeserver" below is a closed
  // port there, not a refused address.
  system = await startSystem({ env: { TESSERA_OUTBOUND_ALLOW: '127.0.0.0/8', TESSERA_RATE_LIMITS: 'off' } });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
});
after(async () => {
  await system?.stop();
  if (system) removeDataDir(system.dataDir);
});

/** A session client presenting `name`'s certificate from the runner's development PKI. */
function sessionClientAs(name: string) {
  const pki = join(system.dataDir, 'pki');
  const credentials = ChannelCredentials.createSsl(
    readFileSync(join(pki, 'ca.pem')),
    readFileSync(join(pki, `${name}-key.pem`)),
    readFileSync(join(pki, `${name}.pem`)),
  );
  const port = system.state().services.session?.grpcPort;
  assert.ok(port, 'the runner says where session listens');
  return createDeadlineClient(SessionServiceClient, `127.0.0.1:${port}`, credentials, 5_000, {
    serviceName: 'session',
  });
}

async function readyz(): Promise<{ status: number; body: { status?: string; failing?: string[] } }> {
  const port = system.state().services.gateway?.metricsPort;
  assert.ok(port, 'the runner says where the gateway serves /readyz');
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { status?: string; failing?: string[] } };
}

describe('who may call the session service', () => {
  it("refuses the notifier's certificate with PERMISSION_DENIED and serves the gateway's", async () => {
    const notifier = sessionClientAs('notifier');
    const gateway = sessionClientAs('gateway');
    try {
      for (const attempt of [notifier.getTerms({}), notifier.getValidated3Pid({ sid: 'a', clientSecret: 'b' })])
        await assert.rejects(attempt, (err: ServiceError) => err.code === status.PERMISSION_DENIED);
      assert.equal(typeof (await gateway.getTerms({})).policiesJson, 'string');
    } finally {
      notifier.close();
      gateway.close();
    }
  });
});

describe('the gateway, given what no route can mean', () => {
  it('answers a path whose percent-encoding does not decode with 400 JSON, logging no error', async () => {
    const from = system.output.length;
    for (const key of ['%zz', '%', '%ff%fe']) {
      const res = await call<{ errcode: string }>(`/_matrix/identity/v2/pubkey/${key}`);
      assert.equal(res.status, 400, key);
      assert.equal(res.body.errcode, 'M_UNRECOGNIZED');
    }
    const logged = serviceLogLines(system, from).filter((line) => line.service === 'gateway' && !isAccessLogLine(line));
    assert.deepEqual(
      logged.filter((line) => line.level !== 'debug'),
      [],
    );
  });

  it('answers oversized headers with 431 JSON', async () => {
    const res = await call<{ errcode: string }>('/_matrix/identity/v2', { headers: { 'x-big': 'a'.repeat(20_000) } });
    assert.equal(res.status, 431);
    assert.equal(res.body.errcode, 'M_TOO_LARGE');
  });

  it('answers an unknown method with 400 JSON', async () => {
    const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const url = new URL('/_matrix/identity/v2', system.baseUrl);
      const req = request(url, { method: 'PURR', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(answer.status, 400);
    assert.match(answer.type, /^application\/json/);
    assert.equal((JSON.parse(answer.body) as { errcode: string }).errcode, 'M_UNRECOGNIZED');
  });
});

describe('an unreachable homeserver', () => {
  it('refuses register with 502 each time, and the system logs one warn line for all of it, without a stack', async () => {
    const closedPort = await freePort(); // nothing listens there
    const from = system.output.length;
    for (let i = 0; i < 5; i++) {
      const res = await call<{ errcode: string }>(
        '/_matrix/identity/v2/account/register',
        json({
          access_token: `openid-${i}`,
          token_type: 'Bearer',
          matrix_server_name: `127.0.0.1:${closedPort}`,
          expires_in: 3600,
        }),
      );
      assert.equal(res.status, 502);
      assert.equal(res.body.errcode, 'M_UNKNOWN');
    }
    const logged = serviceLogLines(system, from).filter((line) => line.level !== 'debug' && !isAccessLogLine(line));
    assert.equal(logged.length, 1, JSON.stringify(logged));
    assert.deepEqual(
      [logged[0]?.service, logged[0]?.level, logged[0]?.msg],
      ['session', 'warn', 'homeserver unreachable'],
    );
    assert.doesNotMatch(JSON.stringify(logged), /stack|openid-/);
  });
});

describe('a backend that goes away', () => {
  it("takes the gateway's /readyz to 503 naming signing while signing is down, and back once it is restarted", async () => {
    await eventually(async () => (await readyz()).status === 200, 20_000, 'the gateway to be ready');
    const firstPid = system.state().services.signing?.pid;
    // The runner restarts signing at once, and the gateway checks every second: a short outage may
    // fall between two checks. Kill again (the runner then waits longer) until one was seen.
    let sawDown = false;
    for (let kill = 0; kill < 3 && !sawDown; kill++) {
      const pid = system.state().services.signing?.pid;
      assert.ok(pid, 'the runner says which process signing is');
      process.kill(pid, 'SIGKILL');
      await eventually(
        async () => {
          const { status: code, body } = await readyz();
          if (code === 503) {
            assert.deepEqual(body, { status: 'not ready', failing: ['signing'] });
            sawDown = true;
          }
          const restarted = system.state().services.signing?.pid; // null while the runner restarts it
          return code === 200 && typeof restarted === 'number' && restarted !== pid;
        },
        60_000,
        '/readyz to be back after signing was restarted',
      );
    }
    assert.ok(sawDown, '/readyz said 503 while signing was down');
    assert.notEqual(system.state().services.signing?.pid, firstPid, 'the runner restarted signing');
  });

  it('answers 503, never 500, while nats-server is killed, and serves again once the runner restarts it', async () => {
    const requestToken = (n: number) =>
      call<{ errcode?: string; sid?: string }>(
        '/_matrix/identity/api/v1/validate/email/requestToken',
        json({ client_secret: `nats-kill-${n}`, email: `nats-kill-${n}@example.org`, send_attempt: 1 }),
      );
    const lookUp = () =>
      call<{ errcode?: string }>(
        '/_matrix/identity/api/v1/3pid/getValidated3pid?sid=AAAAAAAAAAAAAAAAAAAAAA&client_secret=nats-kill',
      );
    const statuses: number[] = [];
    let sent = 0;
    // A kill is short (the runner restarts NATS in a fraction of a second): a request caught by it
    // answers 503. Kill again, a few times at most, until one was caught.
    for (let kill = 0; kill < 5 && !statuses.includes(503); kill++) {
      const natsPidOf = () => (system.state() as { nats?: { pid?: number | null } }).nats?.pid;
      await eventually(async () => typeof natsPidOf() === 'number', 30_000, 'the runner to say which process NATS is');
      const natsPid = natsPidOf() as number;
      const inFlight = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? requestToken(sent++) : lookUp()));
      process.kill(natsPid, 'SIGKILL');
      for (let i = 0; i < 8; i++) inFlight.push(i % 2 === 0 ? requestToken(sent++) : lookUp());
      for (const res of await Promise.all(inFlight)) {
        statuses.push(res.status);
        if (res.status === 503) assert.equal(res.body.errcode, 'M_UNKNOWN');
      }
      await eventually(async () => (await lookUp()).status === 404, 30_000, 'NATS to be back');
    }
    assert.ok(statuses.includes(503), `some request was caught by a kill: ${statuses.join(',')}`);
    assert.deepEqual(
      statuses.filter((code) => code >= 500 && code !== 503),
      [],
      'no answer but 503 for a backend that is down',
    );
  });
});
