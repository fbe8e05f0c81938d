import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { ephemeralRange, freePort } from './free-port.js';

describe('freePort', () => {
  it('returns a port that can then be bound on 127.0.0.1', async () => {
    const port = await freePort();
    assert.ok(port > 0 && port < 65_536);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('stays out of the range the kernel gives outgoing connections, which could hold a planned port', async () => {
    const [low, high] = ephemeralRange();
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      assert.ok(port < low || port > high, `${port} is in the ephemeral range ${low}-${high}`);
    }
  });
});
