import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientLowercaseEmail } from './client-lowercase.js';
import { normalizeEmail } from './email.js';

describe('clientLowercaseEmail', () => {
  it('gives nothing for an address whose lower-cased and folded forms agree (every ASCII one)', () => {
    for (const typed of ['alice@example.org', 'Alice@Example.ORG', 'Jörg@Bücher.DE', '\u0130stanbul@example.org'])
      assert.equal(clientLowercaseEmail(typed), undefined, typed);
  });

  it("gives what matrix-js-sdk hashes, the typed address's toLowerCase(), where folding differs", () => {
    assert.equal(clientLowercaseEmail('Straße@Example.org'), 'straße@example.org');
    assert.equal(clientLowercaseEmail('straße@example.org'), 'straße@example.org');
    // A final sigma: toLowerCase writes ς at the end of a word, folding σ.
    assert.equal(clientLowercaseEmail('ΟΔΟΣ@x.gr'), 'οδος@x.gr');
    // Cherokee: folding maps the small letters to capitals, toLowerCase the opposite way.
    assert.equal(clientLowercaseEmail('Ꭰ@x.org'), 'ꭰ@x.org');
  });

  it('gives a form that is its own client form and folds to the same address as the typed one', () => {
    for (const typed of ['Straße@Example.org', 'ΟΔΟΣ@x.gr', 'Ꭰ@x.org', 'ﬁle@EXAMPLE.org']) {
      const form = clientLowercaseEmail(typed);
      assert.ok(form !== undefined, typed);
      assert.equal(clientLowercaseEmail(form), form, typed);
      assert.equal(normalizeEmail(form), normalizeEmail(typed), typed);
    }
  });

  it('refuses an invalid address as normalizeEmail does, trimming nothing', () => {
    for (const typed of ['not an address', ' straße@example.org', 'straße@example.org\n'])
      assert.throws(() => clientLowercaseEmail(typed), { errcode: 'M_INVALID_EMAIL' }, JSON.stringify(typed));
  });
});
