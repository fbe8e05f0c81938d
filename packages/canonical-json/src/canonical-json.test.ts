import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CanonicalJsonError, canonicalJson, compareCodePoints } from './canonical-json.js';

const rejects = (value: unknown) => assert.throws(() => canonicalJson(value), CanonicalJsonError);

describe('canonicalJson', () => {
  describe('the spec examples', () => {
    it('sorts keys: {"b":"2","a":"1"} becomes {"a":"1","b":"2"}', () => {
      assert.equal(canonicalJson(JSON.parse('{"b":"2","a":"1"}')), '{"a":"1","b":"2"}');
    });

    it('writes non-ASCII keys raw and sorts them by code point: 日 (U+65E5) before 本 (U+672C)', () => {
      assert.equal(canonicalJson(JSON.parse('{"本":2,"日":1}')), '{"日":1,"本":2}');
    });

    it('writes -0 as 0 and 1e10 as its digits', () => {
      assert.equal(canonicalJson(JSON.parse('{"a":-0,"b":1e10}')), '{"a":0,"b":10000000000}');
    });

    it('encodes the empty object and the signing example', () => {
      assert.equal(canonicalJson({}), '{}');
      assert.equal(canonicalJson({ two: 'Two', one: 1 }), '{"one":1,"two":"Two"}');
    });
  });

  describe('key order', () => {
    it('orders astral keys by code point, after U+FFFD, unlike the default UTF-16 sort', () => {
      const grin = '\u{1F600}'; // U+1F600, stored as surrogates D83D DE00
      const replacement = '\uFFFD';
      assert.deepEqual([grin, replacement].sort(), [grin, replacement]); // what code-unit order would give
      assert.equal(canonicalJson({ [grin]: 1, [replacement]: 2 }), `{"${replacement}":2,"${grin}":1}`);
    });

    it('compares strings by code point, shorter prefix first', () => {
      assert.ok(compareCodePoints('a', 'ab') < 0);
      assert.ok(compareCodePoints('\uE000', '\u{10000}') < 0);
      assert.ok(compareCodePoints('\uD7FF', '\u{10000}') < 0);
      assert.ok(compareCodePoints('\u{10000}', '\u{10001}') < 0);
      assert.equal(compareCodePoints('\u{1F600}', '\u{1F600}'), 0);
    });

    it('sorts uppercase before lowercase and digits before letters, as code points do', () => {
      assert.equal(canonicalJson({ b: 1, a: 2, B: 3, '1': 4 }), '{"1":4,"B":3,"a":2,"b":1}');
    });
  });

  describe('strings', () => {
    it('uses the short escapes for " \\ \\b \\t \\n \\f \\r', () => {
      assert.equal(canonicalJson('"\\\b\t\n\f\r'), '"\\"\\\\\\b\\t\\n\\f\\r"');
    });

    it('escapes every other control character below U+0020 as \\u00xx in lowercase hex', () => {
      const short = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);
      for (let code = 0; code < 0x20; code++) {
        if (short.has(code)) continue;
        const expected = `"\\u${code.toString(16).padStart(4, '0')}"`;
        assert.equal(canonicalJson(String.fromCharCode(code)), expected, `U+${code.toString(16)}`);
      }
      assert.equal(canonicalJson('\u001f\u000b'), '"\\u001f\\u000b"');
    });

    it('writes everything else raw: /, DEL, U+2028, non-ASCII and astral characters', () => {
      const raw = '/\u007f\u2028é日\u{1F600}';
      assert.equal(canonicalJson(raw), `"${raw}"`);
    });

    it('escapes control characters in keys too', () => {
      assert.equal(canonicalJson({ 'a\nb': 1 }), '{"a\\nb":1}');
    });

    it('rejects lone surrogates, which have no UTF-8 form, in values and keys', () => {
      rejects('\uD83D');
      rejects('x\uDE00');
      rejects('\uDE00\uD83D'); // reversed pair
      rejects({ '\uD83D': 1 });
    });
  });

  describe('numbers', () => {
    it('accepts the integer range limits ±(2^53 - 1)', () => {
      assert.equal(canonicalJson(2 ** 53 - 1), '9007199254740991');
      assert.equal(canonicalJson(-(2 ** 53) + 1), '-9007199254740991');
    });

    it('rejects integers outside the range, 2^53 first', () => {
      rejects(2 ** 53);
      rejects(-(2 ** 53));
      rejects(1e21);
    });

    it('rejects floats, NaN and infinities', () => {
      rejects(1.5);
      rejects(0.1);
      rejects(-2.5e-7);
      rejects(Number.NaN);
      rejects(Number.POSITIVE_INFINITY);
      rejects(Number.NEGATIVE_INFINITY);
      rejects({ a: [1, 2.5] });
    });

    it('writes -0 as 0 on its own', () => {
      assert.equal(canonicalJson(-0), '0');
    });

    it('accepts a bigint in range and rejects one outside', () => {
      assert.equal(canonicalJson({ seq: 42n }), '{"seq":42}');
      assert.equal(canonicalJson(2n ** 53n - 1n), '9007199254740991');
      rejects(2n ** 53n);
      rejects(-(2n ** 53n));
    });
  });

  describe('structure', () => {
    it('encodes nested objects with keys sorted at every level and arrays in their order', () => {
      const value = { z: { y: [3, { b: true, a: null }, 'x'], a: {} }, a: [[], [2, 1]] };
      assert.equal(canonicalJson(value), '{"a":[[],[2,1]],"z":{"a":{},"y":[3,{"a":null,"b":true},"x"]}}');
    });

    it('encodes a parsed object and its pretty-printed twin the same way', () => {
      const text = '{ "b" : [ 1 , 2 ] ,\n "a" : { "d" : "e" } }';
      assert.equal(canonicalJson(JSON.parse(text)), '{"a":{"d":"e"},"b":[1,2]}');
    });

    it('encodes null-prototype objects and an own "__proto__" key', () => {
      const bare = Object.assign(Object.create(null), { b: 1, a: 2 });
      assert.equal(canonicalJson(bare), '{"a":2,"b":1}');
      assert.equal(canonicalJson(JSON.parse('{"__proto__":1}')), '{"__proto__":1}');
    });

    it('encodes the same object twice when it is not its own ancestor', () => {
      const shared = { a: 1 };
      assert.equal(canonicalJson([shared, shared]), '[{"a":1},{"a":1}]');
    });

    it('rejects cycles instead of overflowing the stack', () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      rejects(cyclic);
    });
  });

  describe('values without a JSON form', () => {
    it('rejects undefined, as a value, a property and an array hole', () => {
      rejects(undefined);
      rejects({ a: undefined });
      rejects([1, undefined]);
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point
      rejects([1, , 3]);
    });

    it('rejects functions and symbols', () => {
      rejects(() => 1);
      rejects({ f() {} });
      rejects(Symbol('s'));
    });

    it('rejects objects that are not plain: Date, Map, Uint8Array, class instances', () => {
      rejects(new Date(0));
      rejects(new Map());
      rejects(new Uint8Array(1));
      rejects(
        new (class Point {
          x = 1;
        })(),
      );
    });

    it('names the path of the offending value in the error', () => {
      assert.throws(
        () => canonicalJson({ a: [{ b: 0.5 }] }),
        (err: unknown) =>
          err instanceof CanonicalJsonError && err.path === '$.a[0].b' && err.message.includes('$.a[0].b'),
      );
    });
  });
});
