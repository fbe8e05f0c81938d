import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { followLines, prefixedWriter, prefixLine } from './log-prefix.js';

describe('log prefixes', () => {
  it('puts the name, padded to eight characters, before each line', () => {
    assert.equal(prefixLine('signing', '{"level":"info"}'), 'signing  | {"level":"info"}');
    assert.equal(prefixLine('runner', 'ready'), 'runner   | ready');
    assert.equal(prefixLine('postgres', 'x'), 'postgres | x');
    assert.equal(prefixLine('directory', 'x'), 'directory | x');
  });

  it('writes whole lines to the stream, prefixing every line of a message', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const write = prefixedWriter(out, 'nats');
    write('one');
    write('two');
    write('three\n  and a half');
    assert.equal(text, 'nats     | one\nnats     | two\nnats     | three\nnats     |   and a half\n');
  });

  it('splits a stream into lines, keeping a last line without newline and dropping CRs', async () => {
    const input = new PassThrough();
    const lines: string[] = [];
    followLines(input, (line) => lines.push(line));
    input.write('first\r\nsec');
    input.write('ond\nthird');
    input.end();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(lines, ['first', 'second', 'third']);
  });
});
