import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadConfig } from '@tessera/config';
import { connectAs, natsAccessOf, provision } from '@tessera/nats-access';
import { InviteServiceService } from '@tessera/proto/tessera/invite/v1/invite';
import { SessionServiceService } from '@tessera/proto/tessera/session/v1/session';
import { RATE_LIMIT_BUCKET } from '@tessera/rate-limit';
import { createLogger, createMetrics } from '@tessera/service-kit';
import { startNats, type TestNats } from '@tessera/test-harness';
import { connect, type NatsConnection } from 'nats';
import { type RunningGateway, readGatewaySettings, startGateway } from './gateway.js';

// Windows of about 11.6 days, aligned to the epoch: no run of this file straddles two of them.
const WINDOW_S = 1_000_000;

let nats: TestNats;
const grpcServers: Server[] = [];
let secretDir: string;
const gateways: RunningGateway[] = [];
const connections: NatsConnection[] = [];
const requestTokens: Record<string, unknown>[] = [];
const storedInvites: Record<string, unknown>[] = [];

const unimplemented = (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
  callback({ code: status.UNIMPLEMENTED, details: 'not in this test' });

/** A gRPC server on a free port serving one fake service; its port. */
async function serveFake(definition: ServiceDefinition, implementation: UntypedServiceImplementation) {
  const server = new Server();
  server.addService(definition, implementation);
  grpcServers.push(server);
  return new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
}

/** The session service over real gRPC, reduced to what requestToken (and v2's token check) needs. */
function startFakeSession(): Promise<number> {
  return serveFake(SessionServiceService, {
    requestToken: (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>) => {
      requestTokens.push(call.request);
      callback(null, { sid: `sid-${requestTokens.length}` });
    },
    authenticate: (call: ServerUnaryCall<{ token: string }, unknown>, callback: sendUnaryData<unknown>) =>
      callback(null, { userId: `@${call.request.token}:example.org`, termsAccepted: true }),
    submitToken: unimplemented,
    getValidated3Pid: unimplemented,
    registerAccount: unimplemented,
    logout: unimplemented,
    getTerms: unimplemented,
    acceptTerms: unimplemented,
  });
}

/** The invite service over real gRPC, reduced to what store-invite needs. */
function startFakeInvite(): Promise<number> {
  return serveFake(InviteServiceService, {
    storeInvite: (call: ServerUnaryCall<Record<string, unknown>, unknown>, callback: sendUnaryData<unknown>) => {
      storedInvites.push(call.request);
      const key = {
        publicKey: 'a2V5',
        keyValidityUrl: 'https://id.example.org/_matrix/identity/api/v1/pubkey/isvalid',
      };
      callback(null, { token: `token${storedInvites.length}`, publicKeys: [key], displayName: 'b...@e...' });
    },
    ephemeralKeyIsValid: unimplemented,
    signEd25519: unimplemented,
  });
}

before(async () => {
  nats = await startNats();
  const admin = await connect({ servers: nats.url });
  // Windows of WINDOW_S seconds: the bucket provisioning makes keeps counters that long, and more.
  await provision(admin, { replicas: 1, longestRateLimitWindowMs: WINDOW_S * 1000 });
  await admin.close();
  const sessionPort = await startFakeSession();
  const invitePort = await startFakeInvite();
  secretDir = await mkdtemp(join(tmpdir(), 'tessera-gateway-secret-'));
  const secretFile = join(secretDir, 'secret');
  await writeFile(secretFile, Buffer.alloc(32, 5).toString('base64'));
  const config = loadConfig({
    TESSERA_HTTP_PORT: '0',
    TESSERA_NATS_URL: nats.url,
    TESSERA_SESSION_ADDR: `127.0.0.1:${sessionPort}`,
    TESSERA_INVITE_ADDR: `127.0.0.1:${invitePort}`,
    TESSERA_SECRET_KEY_FILE: secretFile,
    // The tests pose as clients behind our proxy, each from an address of its own.
    TESSERA_TRUSTED_PROXIES: '127.0.0.1/32',
    TESSERA_RATE_LIMIT_IP: `3/${WINDOW_S}s`,
    TESSERA_RATE_LIMIT_USER: `4/${WINDOW_S}s`,
    TESSERA_RATE_LIMIT_MSISDN: `2/${WINDOW_S}s`,
    TESSERA_RATE_LIMIT_COUNTRY: `5/${WINDOW_S}s`,
    TESSERA_RATE_LIMIT_INVITE_SENDER: `2/${WINDOW_S}s`,
  });
  // Two replicas, each with its own NATS connection (as the service skeleton makes it), sharing nothing else.
  const settings = await readGatewaySettings(config);
  for (const name of ['a', 'b']) {
    const log = createLogger(`gateway-${name}`, 'silent');
    const nc = await connectAs(natsAccessOf(config, 'gateway'), log);
    connections.push(nc);
    gateways.push(await startGateway({ config, log, metrics: createMetrics('gateway'), tls: null, nc, settings }));
  }
});

after(async () => {
  for (const gateway of gateways) await gateway.close();
  for (const nc of connections) await nc.drain();
  for (const server of grpcServers) server.forceShutdown();
  await nats?.stop();
  if (secretDir) await rm(secretDir, { recursive: true, force: true });
});

let nextReplica = 0;
/** A request to each replica in turn. */
async function post(path: string, json: unknown, headers: Record<string, string>) {
  const gateway = gateways[nextReplica++ % gateways.length];
  assert.ok(gateway);
  const res = await fetch(`http://127.0.0.1:${gateway.http.port}/_matrix/identity${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(json),
  });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

const fromIp = (ip: string) => ({ 'x-forwarded-for': ip });
const emailBody = { client_secret: 'abc', email: 'alice@example.org', send_attempt: 1 };
const phoneBody = (phone_number: string, country: string) => ({
  client_secret: 'abc',
  phone_number,
  country,
  send_attempt: 1,
});

function assertLimited(res: Awaited<ReturnType<typeof post>>) {
  assert.equal(res.status, 429);
  assert.equal(res.body.errcode, 'M_LIMIT_EXCEEDED');
  const retryAfterMs = res.body.retry_after_ms;
  assert.ok(
    typeof retryAfterMs === 'number' && retryAfterMs > 0 && retryAfterMs <= WINDOW_S * 1000,
    String(retryAfterMs),
  );
  assert.equal(res.retryAfter, String(Math.ceil(retryAfterMs / 1000)));
}

describe('requestToken and store-invite rate limits shared by two gateway replicas on real NATS', () => {
  it('refuses the (count+1)-th v1 requestToken from one IP across both replicas with 429 and retry_after_ms', async () => {
    const before = requestTokens.length;
    for (let i = 0; i < 3; i++)
      assert.equal((await post('/api/v1/validate/email/requestToken', emailBody, fromIp('203.0.113.1'))).status, 200);
    assertLimited(await post('/api/v1/validate/email/requestToken', emailBody, fromIp('203.0.113.1')));
    assertLimited(
      await post('/api/v1/validate/msisdn/requestToken', phoneBody('07400 111111', 'GB'), fromIp('203.0.113.1')),
    );
    assert.equal(requestTokens.length - before, 3, 'refused requests never reach the session service');
    assert.equal((await post('/api/v1/validate/email/requestToken', emailBody, fromIp('203.0.113.2'))).status, 200);
  });

  it('counts v2 requestTokens per user, whatever address they come from', async () => {
    const asCarol = (ip: string) => ({ ...fromIp(ip), authorization: 'Bearer carol' });
    for (let i = 0; i < 4; i++)
      assert.equal((await post('/v2/validate/email/requestToken', emailBody, asCarol(`198.51.100.${i}`))).status, 200);
    assertLimited(await post('/v2/validate/email/requestToken', emailBody, asCarol('198.51.100.99')));
    const asDave = { ...fromIp('198.51.100.99'), authorization: 'Bearer dave' };
    assert.equal((await post('/v2/validate/email/requestToken', emailBody, asDave)).status, 200);
  });

  it('counts SMS per phone number across replicas, however the number is written', async () => {
    const spellings = ['07400 123456', '+44 7400 123456', '0044 7400 123456'];
    assert.equal(
      (await post('/api/v1/validate/msisdn/requestToken', phoneBody(spellings[0] ?? '', 'GB'), fromIp('192.0.2.1')))
        .status,
      200,
    );
    assert.equal(
      (await post('/api/v1/validate/msisdn/requestToken', phoneBody(spellings[1] ?? '', 'GB'), fromIp('192.0.2.2')))
        .status,
      200,
    );
    assertLimited(
      await post('/api/v1/validate/msisdn/requestToken', phoneBody(spellings[2] ?? '', 'GB'), fromIp('192.0.2.3')),
    );
    assert.equal(
      (await post('/api/v1/validate/msisdn/requestToken', phoneBody('07400 654321', 'GB'), fromIp('192.0.2.4'))).status,
      200,
    );
  });

  it('counts SMS per country across replicas', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await post(
        '/api/v1/validate/msisdn/requestToken',
        phoneBody(`06 12 34 56 7${i}`, 'FR'),
        fromIp(`192.0.2.${10 + i}`),
      );
      assert.equal(res.status, 200);
    }
    assertLimited(
      await post('/api/v1/validate/msisdn/requestToken', phoneBody('06 12 34 56 79', 'FR'), fromIp('192.0.2.20')),
    );
  });

  it('counts store-invite per sender across replicas, on both trees together', async () => {
    const invitation = {
      medium: 'email',
      address: 'bob@example.org',
      room_id: '!r:example.org',
      sender: '@erin:example.org',
    };
    const asErin = { ...fromIp('192.0.2.30'), authorization: 'Bearer erin' };
    const before = storedInvites.length;
    assert.equal((await post('/api/v1/store-invite', invitation, fromIp('192.0.2.30'))).status, 200);
    assert.equal((await post('/v2/store-invite', invitation, asErin)).status, 200);
    assertLimited(await post('/api/v1/store-invite', invitation, fromIp('192.0.2.31')));
    assertLimited(await post('/v2/store-invite', invitation, asErin));
    assert.equal(storedInvites.length - before, 2, 'refused invites never reach the invite service');
    const fromFrank = { ...invitation, sender: '@frank:example.org' };
    assert.equal((await post('/api/v1/store-invite', fromFrank, fromIp('192.0.2.30'))).status, 200);
  });

  it("counts v1 store-invite per client IP across replicas, whatever sender it names, on requestToken's v1 counter", async () => {
    const invitation = (n: number) => ({
      medium: 'email',
      address: 'bob@example.org',
      room_id: '!r:example.org',
      sender: `@anyone${n}:example.org`,
    });
    const before = storedInvites.length;
    for (let n = 0; n < 3; n++)
      assert.equal((await post('/api/v1/store-invite', invitation(n), fromIp('192.0.2.40'))).status, 200);
    assertLimited(await post('/api/v1/store-invite', invitation(3), fromIp('192.0.2.40')));
    assertLimited(await post('/api/v1/validate/email/requestToken', emailBody, fromIp('192.0.2.40')));
    assert.equal(storedInvites.length - before, 3, 'refused invites never reach the invite service');
    assert.equal((await post('/api/v1/store-invite', invitation(4), fromIp('192.0.2.41'))).status, 200);
  });

  it('keeps neither addresses, phone numbers nor user IDs in plaintext in the shared counters', async () => {
    const nc = await connect({ servers: nats.url });
    try {
      const kv = await nc.jetstream().views.kv(RATE_LIMIT_BUCKET);
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      assert.ok(keys.length >= 5);
      // scope, window, digest: no room for the subject itself
      for (const key of keys) assert.match(key, /^(ip|user|msisdn|country|sender)\.\d+\.[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(
        new Set(keys.map((key) => key.split('.')[0])),
        new Set(['ip', 'user', 'msisdn', 'country', 'sender']),
      );
    } finally {
      await nc.close();
    }
  });
});
