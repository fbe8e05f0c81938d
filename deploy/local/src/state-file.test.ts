import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type RunnerState, readStateFile, StateFile, stateFilePath } from './state-file.js';

describe('state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-state-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in <data>/run/state.json and reads back what was written, leaving no temporary file', () => {
    const path = stateFilePath(dir);
    assert.equal(path, join(dir, 'run', 'state.json'));
    const state: RunnerState = {
      pid: 42,
      status: 'ready',
      dataDir: dir,
      httpUrl: 'http://127.0.0.1:18090',
      natsUrl: 'nats://127.0.0.1:4222',
      databaseUrl: null,
      nats: { pid: 43, nodes: [{ name: 'nats', pid: 43, port: 4222 }] },
      postgres: null,
      mail: { url: 'smtp://127.0.0.1:2525', dir: join(dir, 'mail') },
      services: { signing: { service: 'signing', pid: 44, grpcPort: 5000, metricsPort: 5001, restarts: 1 } },
    };
    const file = new StateFile(path);
    file.write(state);
    file.write({ ...state, status: 'stopped', pid: null });
    assert.deepEqual(readStateFile(path), { ...state, status: 'stopped', pid: null });
    assert.deepEqual(readdirSync(join(dir, 'run')), ['state.json']);
  });

  it('reads a missing file as null', () => {
    assert.equal(readStateFile(join(dir, 'nothing.json')), null);
  });
});
