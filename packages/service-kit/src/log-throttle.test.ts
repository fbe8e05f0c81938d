import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { captureLogs } from '@tessera/test-harness';
import { createLogThrottle } from './log-throttle.js';
import { createLogger } from './logger.js';

const capture = () => captureLogs((out) => createLogger('test', 'debug', out));

describe('the log throttle', () => {
  it('logs the first occurrence of a kind at once and counts the repeats into one summary', () => {
    const { log, lines } = capture();
    const throttle = createLogThrottle(log, { windowMs: 60_000 });
    for (let i = 0; i < 50; i++)
      throttle.log('warn', 'hs-down example.org', { serverName: 'example.org' }, 'homeserver unreachable');
    assert.equal(lines.length, 1);
    assert.deepEqual(
      [lines[0]?.level, lines[0]?.msg, lines[0]?.serverName],
      ['warn', 'homeserver unreachable', 'example.org'],
    );
    throttle.flush();
    assert.equal(lines.length, 2);
    assert.equal(lines[1]?.level, 'warn');
    assert.equal(lines[1]?.repeated, 49);
    assert.equal(lines[1]?.serverName, 'example.org');
    assert.match(lines[1]?.msg ?? '', /^homeserver unreachable \(49 more in the last 60 s\)$/);
    throttle.close();
  });

  it('keeps kinds apart, and logs a kind in full again once it was quiet for a window', () => {
    const { log, lines } = capture();
    const throttle = createLogThrottle(log);
    throttle.log('info', 'a', {}, 'first');
    throttle.log('info', 'b', {}, 'second');
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['first', 'second'],
    );
    throttle.flush(); // no repeats: no summary, and both kinds are forgotten
    assert.equal(lines.length, 2);
    throttle.log('info', 'a', {}, 'first');
    assert.equal(lines.length, 3);
    throttle.close();
  });

  it('summarises a kind that keeps coming once per window, not once per occurrence', () => {
    const { log, lines } = capture();
    const throttle = createLogThrottle(log);
    throttle.log('warn', 'k', {}, 'down');
    for (let window = 0; window < 3; window++) {
      for (let i = 0; i < 10; i++) throttle.log('warn', 'k', {}, 'down');
      throttle.flush();
    }
    assert.equal(lines.length, 4, 'the first line and one summary per window');
    assert.deepEqual(
      lines.slice(1).map((line) => line.repeated),
      [10, 10, 10],
    );
    throttle.close();
  });

  it('bounds the kinds it tracks: the rest are only counted, in one line', () => {
    const { log, lines } = capture();
    const throttle = createLogThrottle(log, { maxKinds: 3 });
    for (let i = 0; i < 100; i++) throttle.log('warn', `server-${i}`, {}, 'homeserver unreachable');
    assert.equal(lines.length, 3);
    throttle.flush();
    assert.equal(lines.length, 4);
    assert.equal(lines[3]?.repeated, 97);
    throttle.close();
  });

  it('writes its summaries on a timer, without keeping the process alive', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const { log, lines } = capture();
      const throttle = createLogThrottle(log, { windowMs: 1_000 });
      throttle.log('warn', 'k', {}, 'down');
      throttle.log('warn', 'k', {}, 'down');
      assert.equal(lines.length, 1);
      mock.timers.tick(1_000);
      assert.equal(lines.length, 2);
      assert.equal(lines[1]?.repeated, 1);
      throttle.close();
    } finally {
      mock.timers.reset();
    }
  });
});
