import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@tessera/config';
import { settingsFromFlags } from './runner-flags.js';

describe('the runner flags', () => {
  it('stand for the NATS node count and the replica counts, as `--flag value` or `--flag=value`', () => {
    assert.deepEqual(settingsFromFlags(['--nats-cluster', '3', '--replicas=gateway=2,directory=2']), {
      TESSERA_LOCAL_NATS_NODES: '3',
      TESSERA_LOCAL_REPLICAS: 'gateway=2,directory=2',
    });
    assert.deepEqual(settingsFromFlags([]), {});
  });

  it('refuse an unknown argument and a flag without its value', () => {
    assert.throws(() => settingsFromFlags(['--replica', 'gateway=2']), ConfigError);
    assert.throws(() => settingsFromFlags(['--nats-cluster']), /--nats-cluster: expected a value/);
  });
});
