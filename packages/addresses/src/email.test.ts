import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TesseraError } from '@tessera/errors';
import { normalizeEmail } from './email.js';

const INVALID_EMAIL = { name: 'TesseraError', errcode: 'M_INVALID_EMAIL' };

describe('normalizeEmail', () => {
  it('full-case-folds the whole address: Strauß@Example.COM → strauss@example.com', () => {
    assert.equal(normalizeEmail('Strauß@Example.COM'), 'strauss@example.com');
  });

  it('accepts a tagged address on a subdomain unchanged', () => {
    assert.equal(normalizeEmail('a+tag@sub.example.org'), 'a+tag@sub.example.org');
  });

  it("accepts RFC 5322 atext in the local part (a.b-c_d!#$%&'*/=?^`{|}~@example.org)", () => {
    const address = "a.b-c_d!#$%&'*/=?^`{|}~@example.org";
    assert.equal(normalizeEmail(address), address);
  });

  it('accepts internationalised addresses and keeps IDN domains as written, folded', () => {
    assert.equal(normalizeEmail('Jörg@Bücher.DE'), 'jörg@bücher.de');
    assert.equal(normalizeEmail('用户@例子.广告'), '用户@例子.广告');
    assert.equal(normalizeEmail('ΣΟΦΙΑ@ΠΑΡΆΔΕΙΓΜΑ.ΔΟΚΙΜΉ'), 'σοφια@παράδειγμα.δοκιμή');
    assert.equal(normalizeEmail('A@XN--BCHER-KVA.de'), 'a@xn--bcher-kva.de');
  });

  it('accepts what it returned again, unchanged', () => {
    for (const input of [
      'Strauß@Example.COM',
      '\u0130stanbul@example.org',
      'ΐ@example.gr',
      'K\u212Aelvin@EXAMPLE.org',
    ]) {
      const normalised = normalizeEmail(input);
      assert.equal(normalizeEmail(normalised), normalised);
    }
  });

  it('rejects what is not a plain local@domain address', () => {
    const rejected = ['', 'a', 'a@', '@b', '@b.c', 'a@b@c', 'a@b@c.d', 'a b@c.d', '<a@b.c>', 'mailto:a@b.c'];
    for (const input of [...rejected, 'Alice <a@b.c>', '"a b"@c.d', '"a"@c.d', 'a(comment)@b.c']) {
      assert.throws(() => normalizeEmail(input), INVALID_EMAIL, input);
    }
  });

  it('rejects whitespace and control characters anywhere', () => {
    const rejected = [' a@b.c', 'a@b.c ', 'a@b.c\n', '\ta@b.c', 'a\u0000@b.c', 'a@b\u007f.c', 'a\u00a0b@c.d'];
    for (const input of [...rejected, 'a\u200bb@c.d', 'a@b.c\r\nBcc: x@y.z', 'a\u2028@b.c']) {
      assert.throws(() => normalizeEmail(input), INVALID_EMAIL, JSON.stringify(input));
    }
  });

  it('rejects a dot at the start or end of the local part, or two in a row', () => {
    for (const input of ['.a@b.c', 'a.@b.c', 'a..b@c.d'])
      assert.throws(() => normalizeEmail(input), INVALID_EMAIL, input);
  });

  it('rejects IP literals, dotless and numeric domains, and malformed labels', () => {
    const rejected = ['a@[192.0.2.1]', 'a@[IPv6:2001:db8::1]', 'a@localhost', 'a@1.2.3.4', 'a@example.123'];
    for (const input of [...rejected, 'a@-b.c', 'a@b-.c', 'a@b_c.d', 'a@b..c', 'a@b.c.', 'a@.b.c', 'a@xn--zz.de']) {
      assert.throws(() => normalizeEmail(input), INVALID_EMAIL, input);
    }
  });

  it('rejects addresses over 254 octets, local parts over 64 and labels over 63, counting UTF-8 octets', () => {
    const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(63)}.org`; // 195 octets
    const longest = `${'l'.repeat(58)}@${domain}`; // 254 octets
    assert.equal(normalizeEmail(longest), longest);
    assert.throws(() => normalizeEmail(`l${longest}`), INVALID_EMAIL);
    assert.equal(normalizeEmail(`${'l'.repeat(64)}@b.c`), `${'l'.repeat(64)}@b.c`);
    assert.throws(() => normalizeEmail(`${'l'.repeat(65)}@b.c`), INVALID_EMAIL);
    assert.throws(() => normalizeEmail(`${'é'.repeat(33)}@b.c`), INVALID_EMAIL); // 33 characters, 66 octets
    assert.throws(() => normalizeEmail(`a@${'d'.repeat(64)}.org`), INVALID_EMAIL);
    assert.throws(() => normalizeEmail(`a@${'ü'.repeat(60)}.org`), INVALID_EMAIL); // fine in Unicode, 66+ as xn--
    assert.throws(() => normalizeEmail(`${'a'.repeat(10_000)}@b.c`), INVALID_EMAIL);
  });

  it('rejects an address whose folded form grows past 254 octets', () => {
    // ΐ (U+0390, 2 octets) folds to three characters of 2 octets each: 20 octets become 60.
    const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(63)}.${'g'.repeat(6)}`; // 198 octets
    assert.throws(() => normalizeEmail(`${'ΐ'.repeat(10)}@${domain}`), INVALID_EMAIL); // 219 octets, 259 folded
    assert.ok(normalizeEmail(`${'ΐ'.repeat(10)}@${domain.slice(5)}`)); // 254 folded
  });

  it('never repeats the address in its error message', () => {
    for (const input of ['secret person@example.org', 'secret@localhost', `secret${'x'.repeat(300)}@b.c`]) {
      assert.throws(
        () => normalizeEmail(input),
        (err) => err instanceof TesseraError && !err.message.includes('secret'),
      );
    }
  });

  it('answers a domain seen before as the first time, also after more domains than it remembers (4096)', () => {
    const check = () => {
      assert.equal(normalizeEmail('a@Good.Example'), 'a@good.example');
      assert.throws(() => normalizeEmail('a@bad_domain.example'), INVALID_EMAIL);
      assert.throws(() => normalizeEmail('a@xn--zz.de'), INVALID_EMAIL);
    };
    check();
    check();
    for (let i = 0; i < 5000; i++) {
      assert.equal(normalizeEmail(`a@d${i}.example`), `a@d${i}.example`);
      if (i % 1000 === 0) check();
    }
    check();
  });

  it('rejects a value that is not a string (JSON may carry anything)', () => {
    assert.throws(() => normalizeEmail(42 as unknown as string), INVALID_EMAIL);
  });
});
