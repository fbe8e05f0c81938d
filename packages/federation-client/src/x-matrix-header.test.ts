import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matrixErrorOf } from '@tessera/errors';
import { parseXMatrixHeader, parseXMatrixHeaders } from './x-matrix-header.js';
import { XMatrixRefusal } from './x-matrix-refusal.js';

const SIG = 'dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ';
const refused = (reason: XMatrixRefusal['reason'], status: number) => (err: unknown) =>
  err instanceof XMatrixRefusal &&
  err.reason === reason &&
  err.errcode === 'M_UNAUTHORIZED' &&
  matrixErrorOf(err).status === status;
const malformed = refused('malformed', 401);

describe('parseXMatrixHeader: forms senders write', () => {
  it("reads Synapse's current form: everything quoted, destination last", () => {
    assert.deepEqual(
      parseXMatrixHeader(`X-Matrix origin="hs.example",key="ed25519:a_1",sig="${SIG}",destination="id.example"`),
      { origin: 'hs.example', destination: 'id.example', keyId: 'ed25519:a_1', signature: SIG },
    );
  });

  it('reads the 2022 form (origin unquoted, with a port) and the pre-v1.3 form without destination', () => {
    assert.deepEqual(parseXMatrixHeader(`X-Matrix origin=hs.example:8448,key="ed25519:a",sig="${SIG}"`), {
      origin: 'hs.example:8448',
      destination: undefined,
      keyId: 'ed25519:a',
      signature: SIG,
    });
  });

  it("reads the spec's example, parameters in any order", () => {
    const header = `X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",key="ed25519:key1",sig="ABCDEF"`;
    assert.deepEqual(parseXMatrixHeader(header), {
      origin: 'origin.hs.example.com',
      destination: 'destination.hs.example.com',
      keyId: 'ed25519:key1',
      signature: 'ABCDEF',
    });
    assert.deepEqual(parseXMatrixHeader(`X-Matrix sig=${SIG},key=ed25519:k,origin="[::1]:8448"`)?.origin, '[::1]:8448');
  });

  it('takes names case-insensitively, the scheme too, and spaces and tabs around commas and =', () => {
    const header = `x-matrix   ORIGIN = "hs.example" \t,\tKey="ed25519:a" ,  Sig  =${SIG}`;
    assert.deepEqual(parseXMatrixHeader(header), {
      origin: 'hs.example',
      destination: undefined,
      keyId: 'ed25519:a',
      signature: SIG,
    });
  });

  it('unescapes backslash pairs in quoted values', () => {
    assert.equal(
      parseXMatrixHeader(`X-Matrix origin="hs\\.example",key="ed25519:\\a",sig="${SIG}"`)?.keyId,
      'ed25519:a',
    );
    assert.equal(
      parseXMatrixHeader(`X-Matrix origin="hs\\.example",key="ed25519:a",sig="${SIG}"`)?.origin,
      'hs.example',
    );
  });

  it('ignores unknown parameters and empty list elements', () => {
    const header = `X-Matrix ,origin=hs.example,, future="a, b = c",key="ed25519:a",sig="${SIG}",`;
    assert.equal(parseXMatrixHeader(header)?.origin, 'hs.example');
  });

  it('is not concerned with other schemes', () => {
    assert.equal(parseXMatrixHeader('Bearer abc'), undefined);
    assert.equal(parseXMatrixHeader('X-Matrixy origin=a,key=ed25519:a,sig=b'), undefined);
    assert.equal(parseXMatrixHeader(''), undefined);
  });
});

describe('parseXMatrixHeader: refused as malformed (401 M_UNAUTHORIZED)', () => {
  const bad: Array<[string, string]> = [
    ['no parameters', 'X-Matrix'],
    ['only spaces after the scheme', 'X-Matrix   '],
    ['no space after the scheme', `X-Matrix,origin=hs.example,key="ed25519:a",sig="${SIG}"`],
    ['a tab after the scheme (RFC 9110: 1*SP)', `X-Matrix\torigin=hs.example,key="ed25519:a",sig="${SIG}"`],
    ['no origin', `X-Matrix key="ed25519:a",sig="${SIG}"`],
    ['no key', `X-Matrix origin=hs.example,sig="${SIG}"`],
    ['no sig', 'X-Matrix origin=hs.example,key="ed25519:a"'],
    ['an empty sig', 'X-Matrix origin=hs.example,key="ed25519:a",sig=""'],
    ['a parameter twice', `X-Matrix origin=hs.example,Origin=evil.example,key="ed25519:a",sig="${SIG}"`],
    ['an origin that is no server name', `X-Matrix origin="hs example",key="ed25519:a",sig="${SIG}"`],
    ['an origin with a path', `X-Matrix origin="hs.example/x",key="ed25519:a",sig="${SIG}"`],
    ['a key id without a version', `X-Matrix origin=hs.example,key="ed25519",sig="${SIG}"`],
    ['a key id with a bad version', `X-Matrix origin=hs.example,key="ed25519:a-b",sig="${SIG}"`],
    ['an unterminated quoted value', `X-Matrix origin=hs.example,key="ed25519:a,sig="${SIG}`],
    ['a control character in a quoted value', `X-Matrix origin="hs\u0001.example",key="ed25519:a",sig="${SIG}"`],
    ['a space inside an unquoted value', `X-Matrix origin=hs .example,key="ed25519:a",sig="${SIG}"`],
    ['a slash in an unquoted value', 'X-Matrix origin=hs.example,key="ed25519:a",sig=ab/cd'],
    ['no = after a name', `X-Matrix origin,key="ed25519:a",sig="${SIG}"`],
    ['no value', `X-Matrix origin=,key="ed25519:a",sig="${SIG}"`],
    ['text after a quoted value', `X-Matrix origin="hs.example"x,key="ed25519:a",sig="${SIG}"`],
    ['a semicolon as separator', `X-Matrix origin=hs.example;key="ed25519:a";sig="${SIG}"`],
    [
      'two credentials joined in one header',
      `X-Matrix origin=a.example,key="ed25519:a",sig="${SIG}", X-Matrix origin=a.example,key="ed25519:b",sig="${SIG}"`,
    ],
  ];
  for (const [name, header] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseXMatrixHeader(header), malformed);
    });
  }
});

describe('parseXMatrixHeaders', () => {
  it('reads one credential per X-Matrix header and skips other schemes', () => {
    const credentials = parseXMatrixHeaders([
      'Bearer some-token',
      `X-Matrix origin=hs.example,key="ed25519:a",sig="${SIG}"`,
      `X-Matrix origin=hs.example,key="ed25519:b",sig="${SIG}"`,
    ]);
    assert.deepEqual(
      credentials.map((c) => c.keyId),
      ['ed25519:a', 'ed25519:b'],
    );
  });

  it('takes a single header as a string', () => {
    assert.equal(parseXMatrixHeaders(`X-Matrix origin=hs.example,key="ed25519:a",sig="${SIG}"`).length, 1);
  });

  it('answers missing (401 M_UNAUTHORIZED) without any X-Matrix header', () => {
    for (const headers of [undefined, [], ['Bearer x'], 'Basic eDp5'])
      assert.throws(() => parseXMatrixHeaders(headers), refused('missing', 401), String(headers));
  });

  it('refuses the whole set when one X-Matrix header is malformed', () => {
    assert.throws(
      () =>
        parseXMatrixHeaders([`X-Matrix origin=hs.example,key="ed25519:a",sig="${SIG}"`, 'X-Matrix origin=hs.example']),
      malformed,
    );
  });
});
