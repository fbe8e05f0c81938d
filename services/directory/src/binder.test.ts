import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProjectionWait } from '@tessera/db';
import { TesseraError } from '@tessera/errors';
import { createSecrets } from '@tessera/server-secret';
import { type BinderDeps, createBinder, importedBindingId } from './binder.js';

const silent = { info() {}, warn() {}, error() {}, debug() {} } as unknown as BinderDeps['log'];

/** A projector that applies `step` more sequences each time someone waits, and never more than `stopAt`. */
function projector(step: number, stopAt: number): ProjectionWait & { waits: number } {
  let checkpoint = 0;
  const fake = {
    waits: 0,
    async until(seq: number) {
      fake.waits++;
      checkpoint = Math.min(stopAt, checkpoint + step);
      return checkpoint >= seq;
    },
    checkpoint: () => checkpoint,
    onAdvance() {},
    isListening: () => true,
    async close() {},
  };
  return fake;
}

// Only the waits are used here: the store, keys and signing are never reached.
const binderOn = (projected: ProjectionWait) =>
  createBinder({ projected, visibleWaitMs: 100, log: silent, now: Date.now } as unknown as BinderDeps);

describe('waiting for an import to become visible', () => {
  it('keeps waiting while the projector applies, however far behind it started', async () => {
    const projected = projector(1_000, Number.POSITIVE_INFINITY);
    await binderOn(projected).visibleWhileApplying(5_000);
    assert.equal(projected.waits, 5, 'one bounded wait per advance, until the last sequence is applied');
  });

  it('answers 503 once the projector applied nothing for a whole wait', async () => {
    const projected = projector(1_000, 2_000);
    await assert.rejects(binderOn(projected).visibleWhileApplying(5_000), (err: unknown) => {
      assert.ok(err instanceof TesseraError);
      assert.equal(err.errcode, 'M_UNKNOWN');
      return true;
    });
    assert.equal(projected.waits, 3, 'two waits that advanced, then one that did not');
  });

  it('a single bind waits once: 503 when that wait is not enough', async () => {
    const projected = projector(1_000, Number.POSITIVE_INFINITY);
    await assert.rejects(binderOn(projected).visible(5_000), TesseraError);
    assert.equal(projected.waits, 1);
  });
});

describe("an imported binding's id", () => {
  const secrets = createSecrets(Buffer.alloc(32, 1));
  it('is the same for the same importId on every run, and 16 URL-safe characters like a fresh one', () => {
    const id = importedBindingId(secrets, 'sydent:id.example:42');
    assert.match(id, /^[A-Za-z0-9_-]{16}$/);
    assert.equal(importedBindingId(secrets, 'sydent:id.example:42'), id);
    assert.notEqual(importedBindingId(secrets, 'sydent:id.example:43'), id);
  });

  it('depends on the server secret and is no other digest of the same text', () => {
    const id = importedBindingId(secrets, 'x');
    assert.notEqual(importedBindingId(createSecrets(Buffer.alloc(32, 2)), 'x'), id);
    assert.notEqual(secrets.digest('token', 'x').slice(0, 16), id);
  });
});
