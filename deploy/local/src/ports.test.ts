import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '@tessera/local-infra';
import { assignPorts, canListen, PortAllocator } from './ports.js';
import { SERVICES } from './services.js';

describe('port assignment', () => {
  it('gives each gRPC service a gRPC port, every service a metrics port, session, directory and invite an admin port, all distinct', async () => {
    const plan = await assignPorts(SERVICES, new PortAllocator({ reserved: [8090] }));
    const all: number[] = [];
    for (const service of SERVICES) {
      const ports = plan[service.name]?.[0];
      assert.ok(ports, service.name);
      assert.equal(plan[service.name]?.length, 1);
      assert.equal(ports.grpcPort !== undefined, ['signing', 'session', 'directory', 'invite'].includes(service.name));
      assert.equal(ports.adminPort !== undefined, ['session', 'directory', 'invite'].includes(service.name));
      all.push(ports.metricsPort, ...[ports.grpcPort, ports.adminPort].filter((port) => port !== undefined));
    }
    assert.equal(all.length, 14);
    assert.equal(new Set(all).size, all.length);
    assert.ok(!all.includes(8090));
  });

  it('gives each replica ports of its own, and a gateway beyond the first an HTTP port', async () => {
    const replicas: Partial<Record<string, number>> = { directory: 2, gateway: 3 };
    const plan = await assignPorts(SERVICES, new PortAllocator({ reserved: [8090] }), (name) => replicas[name] ?? 1);
    assert.equal(plan.directory?.length, 2);
    assert.equal(plan.signing?.length, 1);
    assert.deepEqual(
      plan.gateway?.map((ports) => ports.httpPort !== undefined),
      [false, true, true],
    );
    const all = Object.values(plan).flatMap((replicasOfService) =>
      (replicasOfService ?? []).flatMap((ports) => Object.values(ports)),
    );
    assert.equal(new Set(all).size, all.length, 'all distinct');
  });

  it('throws back a port handed out twice or reserved', async () => {
    const handedOut = [5000, 5000, 8090, 5001, 5001, 5002, 5003];
    const pick = async () => handedOut.shift() ?? assert.fail('asked for too many ports');
    const plan = await assignPorts(
      SERVICES.filter((service) => service.name === 'signing' || service.name === 'gateway'),
      new PortAllocator({ reserved: [8090], pick }),
    );
    assert.deepEqual(plan, { signing: [{ grpcPort: 5000, metricsPort: 5001 }], gateway: [{ metricsPort: 5002 }] });
  });

  it('gives up when no new port comes', async () => {
    await assert.rejects(assignPorts(SERVICES, new PortAllocator({ pick: async () => 5000 })), /could not find/);
  });

  it('keeps the ports planned for services from the servers started after the plan', async () => {
    // The kernel hands a just-released port out again: after the plan, its next picks are the
    // services' ports, and NATS, Postgres or the mail catcher would take one of them.
    const kernel = [5000, 5001, 5002, 5000, 5001, 5002, 5003];
    const ports = new PortAllocator({ pick: async () => kernel.shift() ?? assert.fail('asked for too many ports') });
    const plan = await assignPorts(
      SERVICES.filter((service) => service.name === 'signing' || service.name === 'gateway'),
      ports,
    );
    assert.deepEqual(plan, { signing: [{ grpcPort: 5000, metricsPort: 5001 }], gateway: [{ metricsPort: 5002 }] });
    assert.equal(await ports.next(), 5003);
  });

  it('tells a port in use from a free one', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    assert.equal(await canListen('127.0.0.1', address.port), false);
    await new Promise((resolve) => server.close(resolve));
    assert.equal(await canListen('127.0.0.1', address.port), true);
  });

  it('holds the ports it plans until they are released, so that nobody else can choose them meanwhile', async () => {
    const ports = new PortAllocator({ hold: true });
    const planned = await ports.next();
    const other = await ports.next();
    assert.equal(await canListen('127.0.0.1', planned), false, 'held while only planned');
    await ports.release([planned]);
    assert.equal(await canListen('127.0.0.1', planned), true, 'free for its server once released');
    assert.equal(await canListen('127.0.0.1', other), false, 'the other one still held');
    const toBind = await ports.nextToBind();
    assert.equal(await canListen('127.0.0.1', toBind), true, 'nextToBind is not held');
    await ports.releaseAll();
    assert.equal(await canListen('127.0.0.1', other), true);
  });

  it('passes over a port that someone else bound after it was picked', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    assert.ok(address !== null && typeof address === 'object');
    let first = true;
    const ports = new PortAllocator({
      hold: true,
      pick: async () => {
        if (!first) return freePort('127.0.0.1');
        first = false;
        return address.port;
      },
    });
    const port = await ports.next();
    assert.notEqual(port, address.port);
    await ports.releaseAll();
    await new Promise((resolve) => squatter.close(resolve));
  });
});
