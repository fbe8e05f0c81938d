import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createClock } from './clock.js';
import { createLogger } from './logger.js';

const NOW = Date.UTC(2025, 0, 15);
const lines: string[] = [];
const log = createLogger(
  'session',
  'debug',
  new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  }),
);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-clock-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the clock', () => {
  it('is real time when no offset file is set', () =>
    assert.equal(createClock(undefined, log, () => NOW)().getTime(), NOW));

  it('adds the milliseconds of the offset file, and follows the file as it changes', async () => {
    const file = join(dir, 'offset');
    await writeFile(file, '86400001\n');
    const clock = createClock(file, log, () => NOW);
    assert.equal(clock().getTime(), NOW + 86_400_001);
    await writeFile(file, '-5000');
    assert.equal(clock().getTime(), NOW - 5_000);
    await unlink(file);
    assert.equal(clock().getTime(), NOW);
  });

  it('counts a missing file as 0', () =>
    assert.equal(createClock(join(dir, 'never-written'), log, () => NOW)().getTime(), NOW));

  it('counts a file without a whole number as 0', async () => {
    const file = join(dir, 'garbage');
    await writeFile(file, 'tomorrow');
    assert.equal(createClock(file, log, () => NOW)().getTime(), NOW);
  });

  it('warns at start that a test clock is in use', () => {
    lines.length = 0;
    createClock(join(dir, 'x'), log, () => NOW);
    assert.ok(lines.some((line) => line.includes('test clock in use')));
  });
});
