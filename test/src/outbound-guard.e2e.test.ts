import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadSpec, type ObservedFetch, observedFetch } from './spec/spec-validator.js';
import { json } from './system/flows.js';
import {
  eventually,
  type RunningSystem,
  removeDataDir,
  serviceLogLines,
  startSystem,
} from './system/running-system.js';

// The runner's defaults leave TESSERA_OUTBOUND_ALLOW unset: outbound HTTP (here, the OpenID check
// an unauthenticated `register` makes the session service do) must reach no loopback or private
// address, however the address is spelt.
const spec = loadSpec();

let system: RunningSystem;
let call: ObservedFetch;

/** TCP listeners on 127.0.0.1 and ::1 that count every connection made to them. */
type Trap = { port: number; connections: string[]; close(): Promise<void> };

async function trap(port = 0): Promise<Trap> {
  const connections: string[] = [];
  const servers: Server[] = [];
  let bound = port;
  for (const host of ['127.0.0.1', '::1']) {
    const server = createServer((socket: Socket) => {
      connections.push(`${host}:${bound}`);
      socket.destroy();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bound, host, () => resolve());
      });
    } catch (err) {
      // A machine without IPv6 loopback: nothing can be reached there either.
      if (host === '::1' && (err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') continue;
      throw err;
    }
    bound = (server.address() as { port: number }).port;
    servers.push(server);
  }
  return {
    port: bound,
    connections,
    close: async () => {
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    },
  };
}

before(async () => {
  system = await startSystem({ env: { TESSERA_RATE_LIMITS: 'off' } });
  call = observedFetch(spec, { baseUrl: system.baseUrl });
});
after(async () => {
  await system?.stop();
  if (system) removeDataDir(system.dataDir);
});

async function register(matrixServerName: string) {
  return call<{ errcode?: string }>(
    '/_matrix/identity/v2/account/register',
    json({
      access_token: 'openid-token',
      token_type: 'Bearer',
      matrix_server_name: matrixServerName,
      expires_in: 3600,
    }),
  );
}

describe('outbound HTTP under the runner’s defaults', () => {
  it('does not pass TESSERA_OUTBOUND_ALLOW to any service', () => {
    for (const [name, service] of Object.entries(system.state().services)) {
      assert.ok(service.pid, name);
      const environ = readFileSync(`/proc/${service.pid}/environ`, 'utf8');
      assert.doesNotMatch(environ, /TESSERA_OUTBOUND_ALLOW=/, name);
    }
  });

  it('reaches no loopback listener from register, whatever spelling of the address', async () => {
    const listener = await trap();
    try {
      const p = listener.port;
      for (const name of [
        `127.0.0.1:${p}`,
        `[::1]:${p}`,
        `localhost:${p}`,
        `2130706433:${p}`,
        `0x7f.1:${p}`,
        `127.1:${p}`,
        `[::ffff:127.0.0.1]:${p}`,
      ]) {
        const res = await register(name);
        assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status} ${res.text}`);
        assert.equal(typeof res.body.errcode, 'string', name);
      }
      assert.deepEqual(listener.connections, []);
    } finally {
      await listener.close();
    }
  });

  it('reaches nothing on the default federation port (8448) or through .well-known (443) of a loopback name', async (t) => {
    const traps: Trap[] = [];
    for (const port of [8448, 443]) {
      try {
        traps.push(await trap(port));
      } catch (err) {
        // Something of the machine's own holds the port: the request below still must fail cleanly.
        t.diagnostic(`port ${port} not trapped: ${(err as Error).message}`);
      }
    }
    try {
      for (const name of ['localhost', '[::1]', '2130706433', '127.0.0.1']) {
        const res = await register(name);
        assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status} ${res.text}`);
      }
      for (const caught of traps) assert.deepEqual(caught.connections, [], `port ${caught.port}`);
    } finally {
      for (const caught of traps) await caught.close();
    }
  });

  it('sends no onbind call to a homeserver on a loopback address: the attempt fails and is tried again later', async () => {
    const listener = await trap();
    try {
      const address = `outbound.${Date.now()}@example.org`;
      const invited = await call(
        '/_matrix/identity/api/v1/store-invite',
        json({
          medium: 'email',
          address,
          room_id: '!room:example.org',
          sender: '@inviter:example.org',
        }),
      );
      assert.equal(invited.status, 200, invited.text);
      // Bound through the directory's admin API (on, on loopback, in the runner): the invite service
      // asks for the onbind call, the notifier tries it.
      const adminUrl = system.state().services.directory?.adminUrl;
      assert.ok(adminUrl, 'the runner turns the directory admin API on');
      const destination = `127.0.0.1:${listener.port}`;
      const bound = await fetch(
        `${adminUrl}/_tessera/directory/v1/bind`,
        json({ medium: 'email', address, mxid: `@invitee:${destination}` }),
      );
      assert.equal(bound.status, 200, await bound.text());
      await eventually(
        async () =>
          serviceLogLines(system).some(
            (line) => line.msg === 'onbind call failed; tried again later' && line.destination === destination,
          ),
        30_000,
        'the notifier reports the failed onbind attempt',
      );
      const failure = serviceLogLines(system).find((line) => line.msg === 'onbind call failed; tried again later');
      assert.match(String(failure?.reason), /outbound guard/);
      assert.deepEqual(listener.connections, []);
    } finally {
      await listener.close();
    }
  });
});
