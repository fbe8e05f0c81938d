import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ProjectionWait, untilAppliedWhileAdvancing } from './projection-wait.js';

/** A projection that applies `step` sequences per wait, never going past `stopsAt`. */
function projection(step: number, stopsAt: number): ProjectionWait & { waits: number } {
  let checkpoint = 0;
  return {
    waits: 0,
    async until(seq) {
      this.waits++;
      checkpoint = Math.min(checkpoint + step, stopsAt);
      return checkpoint >= seq;
    },
    checkpoint: () => checkpoint,
    onAdvance: () => {},
    isListening: () => true,
    close: async () => {},
  };
}

describe('untilAppliedWhileAdvancing', () => {
  it('waits as long as the projection keeps applying, however far behind it starts', async () => {
    const wait = projection(10, 1_000);
    assert.equal(await untilAppliedWhileAdvancing(wait, 95, 5), true);
    assert.equal(wait.waits, 10);
  });

  it('gives up once a whole wait applied nothing', async () => {
    const wait = projection(10, 30);
    assert.equal(await untilAppliedWhileAdvancing(wait, 95, 5), false);
    assert.equal(wait.checkpoint(), 30);
  });
});
