import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactedDisplayName } from './display-name.js';

describe('the redacted display name', () => {
  it("redacts username and domain on their own, as Sydent's example", () =>
    assert.equal(redactedDisplayName('foo@bar.com'), 'f...@bar...'));

  it('keeps the first three characters of a part longer than three', () =>
    assert.equal(redactedDisplayName('alice@example.org'), 'ali...@exa...'));

  it('keeps one character of a part of two or three, and none of a part of one', () => {
    assert.equal(redactedDisplayName('ab@c.d'), 'a...@c...');
    assert.equal(redactedDisplayName('a@xy'), '...@x...');
  });

  it('counts characters, not UTF-16 units, and never splits one', () =>
    assert.equal(redactedDisplayName('😀😀😀😀@例え.jp'), '😀😀😀...@例え....'));

  it('redacts the address as supplied, its case kept', () =>
    assert.equal(redactedDisplayName('Bob.Smith@Example.COM'), 'Bob...@Exa...'));

  it('never shows the whole address, even a short one', () => {
    for (const address of ['a@b', 'ab@cd', 'abc@def', 'x@y.z'])
      assert.notEqual(redactedDisplayName(address).replaceAll('...', ''), address);
  });
});
