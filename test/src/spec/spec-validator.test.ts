import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  assertMatchesSpec,
  assertNonJsonAllowed,
  isJsonContentType,
  loadSpec,
  observedFetch,
  type ResponseUnderTest,
  SpecMismatchError,
} from './spec-validator.js';

const spec = loadSpec(undefined, { eager: true });

const V2 = '/_matrix/identity/v2';
const V1 = '/_matrix/identity/api/v1';
const ASSOCIATION = {
  address: 'louise@bobs.burgers',
  medium: 'email',
  mxid: '@ears:matrix.org',
  not_before: 1428825849161,
  not_after: 4582425849161,
  ts: 1428825849161,
  signatures: { 'matrix.org': { 'ed25519:0': 'ENiU2YOR' } },
};

function get(path: string, status: number, body: unknown): ResponseUnderTest {
  return { method: 'GET', path, status, body };
}

function rejects(response: ResponseUnderTest, pattern?: RegExp): void {
  assert.throws(
    () => assertMatchesSpec(spec, response),
    (err: unknown) => {
      assert.ok(err instanceof SpecMismatchError, String(err));
      assert.ok(err instanceof assert.AssertionError);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('the spec index', () => {
  it('indexes the 17 v1 and 23 v2 operations, each operationId once', () => {
    const count = (tree: string) => spec.operations.filter((op) => op.tree === tree).length;
    assert.equal(count('v1'), 17);
    assert.equal(count('v2'), 23);
    const ids = spec.operations.map((op) => op.operationId);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('puts each file base path in front of its paths', () => {
    const expected: [string, string, string][] = [
      ['getPubKeyV2', 'GET', `${V2}/pubkey/{keyId}`],
      ['isPubKeyValidV2', 'GET', `${V2}/pubkey/isvalid`],
      ['isEphemeralPubKeyValidV2', 'GET', `${V2}/pubkey/ephemeral/isvalid`],
      ['getVersions', 'GET', '/_matrix/identity/versions'],
      ['pingV2', 'GET', V2],
      ['getHashDetails', 'GET', `${V2}/hash_details`],
      ['lookupUsersV2', 'POST', `${V2}/lookup`],
      ['bindV2', 'POST', `${V2}/3pid/bind`],
      ['unbindV2', 'POST', `${V2}/3pid/unbind`],
      ['getValidated3pidV2', 'GET', `${V2}/3pid/getValidated3pid`],
      ['storeInviteV2', 'POST', `${V2}/store-invite`],
      ['blindlySignStuffV2', 'POST', `${V2}/sign-ed25519`],
      ['getTerms', 'GET', `${V2}/terms`],
      ['agreeToTerms', 'POST', `${V2}/terms`],
      ['registerAccount', 'POST', `${V2}/account/register`],
      ['getAccount', 'GET', `${V2}/account`],
      ['logout', 'POST', `${V2}/account/logout`],
      ['emailRequestTokenV2', 'POST', `${V2}/validate/email/requestToken`],
      ['emailSubmitTokenGetV2', 'GET', `${V2}/validate/email/submitToken`],
      ['msisdnSubmitTokenPostV2', 'POST', `${V2}/validate/msisdn/submitToken`],
      ['ping', 'GET', V1],
      ['getPubKey', 'GET', `${V1}/pubkey/{keyId}`],
      ['isPubKeyValid', 'GET', `${V1}/pubkey/isvalid`],
      ['isEphemeralPubKeyValid', 'GET', `${V1}/pubkey/ephemeral/isvalid`],
      ['lookupUser', 'GET', `${V1}/lookup`],
      ['lookupUsers', 'POST', `${V1}/bulk_lookup`],
      ['bind', 'POST', `${V1}/3pid/bind`],
      ['unbind', 'POST', `${V1}/3pid/unbind`],
      ['storeInvite', 'POST', `${V1}/store-invite`],
      ['blindlySignStuff', 'POST', `${V1}/sign-ed25519`],
      ['msisdnRequestToken', 'POST', `${V1}/validate/msisdn/requestToken`],
    ];
    for (const [operationId, method, template] of expected) {
      const operation = spec.operations.find((op) => op.operationId === operationId);
      assert.ok(operation, operationId);
      assert.equal(operation.method, method, operationId);
      assert.equal(operation.template, template, operationId);
    }
  });

  it('reads the v2 response schema from content application/json and the v1 one from schema', () => {
    const v2 = spec.operations.find((op) => op.operationId === 'getPubKeyV2');
    const v1 = spec.operations.find((op) => op.operationId === 'getPubKey');
    assert.deepEqual([...(v2?.responses.keys() ?? [])], ['200', '404']);
    assert.deepEqual([...(v1?.responses.keys() ?? [])], ['200', '404']);
    assert.equal(v2?.file, 'v2/api/identity/v2_pubkey.yaml');
    assert.notEqual(v1?.responses.get('200')?.schema, undefined);
  });

  it('inlines every $ref and keeps no OpenAPI-only keyword, so Ajv compiles all schemas strictly', () => {
    for (const operation of spec.operations) {
      for (const response of operation.responses.values()) {
        const text = JSON.stringify(response.schema ?? {});
        assert.doesNotMatch(text, /"\$ref"|"example"|"x-[a-zA-Z]/, `${operation.operationId} ${response.status}`);
      }
    }
    assert.deepEqual(spec.notes, []);
  });
});

describe('path matching', () => {
  it('lets literal segments win over a {param}', () => {
    assert.equal(spec.findOperation('GET', `${V2}/pubkey/isvalid`)?.operationId, 'isPubKeyValidV2');
    assert.equal(spec.findOperation('GET', `${V2}/pubkey/ephemeral/isvalid`)?.operationId, 'isEphemeralPubKeyValidV2');
    assert.equal(spec.findOperation('GET', `${V2}/pubkey/ed25519:0`)?.operationId, 'getPubKeyV2');
    assert.equal(spec.findOperation('GET', `${V1}/pubkey/isvalid`)?.operationId, 'isPubKeyValid');
  });

  it('matches a {param} against one percent-decoded segment, and ignores the query', () => {
    assert.equal(spec.findOperation('get', `${V2}/pubkey/ed25519%3A0`)?.operationId, 'getPubKeyV2');
    assert.equal(spec.findOperation('GET', `${V2}/pubkey/ed25519%3A0%2F..`)?.operationId, 'getPubKeyV2');
    assert.equal(spec.findOperation('GET', `${V2}/pubkey/isvalid?public_key=abc`)?.operationId, 'isPubKeyValidV2');
    assert.equal(spec.findOperation('GET', `${V2}/pubkey/`), undefined);
    assert.equal(spec.findOperation('GET', `${V2}/pubkey/a/b`), undefined);
    assert.equal(spec.findOperation('GET', `${V2}/`), undefined);
  });

  it('tells the two status endpoints and the versions endpoint apart', () => {
    assert.deepEqual(assertMatchesSpec(spec, get(V2, 200, {})), {
      matched: 'pingV2',
      rule: 'documented',
      status: 200,
      template: V2,
    });
    assert.equal(assertMatchesSpec(spec, get(V1, 200, {})).matched, 'ping');
    assert.equal(
      assertMatchesSpec(spec, get('/_matrix/identity/versions', 200, { versions: [] })).matched,
      'getVersions',
    );
  });
});

describe('documented statuses', () => {
  it('accepts a v2 public key and rejects a missing or non-string one', () => {
    const path = `${V2}/pubkey/ed25519:0`;
    assert.deepEqual(assertMatchesSpec(spec, get(path, 200, { public_key: 'abc' })), {
      matched: 'getPubKeyV2',
      rule: 'documented',
      status: 200,
      template: `${V2}/pubkey/{keyId}`,
    });
    rejects(get(path, 200, {}), /getPubKeyV2[\s\S]*must have required property 'public_key'/);
    rejects(get(path, 200, { public_key: 1 }), /\/public_key must be string/);
    rejects(get(path, 200, []));
  });

  it('checks isvalid against its own schema, not the {keyId} one', () => {
    for (const path of [`${V2}/pubkey/isvalid`, `${V2}/pubkey/ephemeral/isvalid`]) {
      const match = assertMatchesSpec(spec, get(path, 200, { valid: true }));
      assert.match(match.matched, /^is(Ephemeral)?PubKeyValidV2$/);
      rejects(get(path, 200, { valid: 'yes' }), /\/valid must be boolean/);
      rejects(get(path, 200, { public_key: 'abc' }));
    }
  });

  it('wants versions as an array of strings', () => {
    const path = '/_matrix/identity/versions';
    assert.equal(assertMatchesSpec(spec, get(path, 200, { versions: ['v1.1'] })).matched, 'getVersions');
    rejects(get(path, 200, { versions: 'v1.1' }), /\/versions must be array/);
    rejects(get(path, 200, { versions: [1] }));
  });

  it('checks the v1 (Swagger 2.0) tree too', () => {
    const path = `${V1}/pubkey/ed25519:0`;
    assert.deepEqual(assertMatchesSpec(spec, get(path, 200, { public_key: 'abc' })), {
      matched: 'getPubKey',
      rule: 'documented',
      status: 200,
      template: `${V1}/pubkey/{keyId}`,
    });
    rejects(get(path, 200, { public_key: true }), /getPubKey\b/);
    assert.equal(assertMatchesSpec(spec, get(`${V1}/pubkey/isvalid`, 200, { valid: false })).matched, 'isPubKeyValid');
  });

  it('resolves the $ref to error.yaml: the pubkey 404 needs errcode, and the prose adds error', () => {
    const path = `${V2}/pubkey/ed25519:9`;
    const notFound = { errcode: 'M_NOT_FOUND', error: 'x' };
    assert.equal(assertMatchesSpec(spec, get(path, 404, notFound)).rule, 'documented');
    assert.equal(assertMatchesSpec(spec, get(`${V1}/pubkey/ed25519:9`, 404, notFound)).matched, 'getPubKey');
    rejects(get(path, 404, { error: 'x' }), /must have required property 'errcode'/);
    rejects(get(path, 404, { errcode: 'M_NOT_FOUND' }), /must have required property 'error'/);
    rejects(get(path, 404, { errcode: 404, error: 'x' }), /\/errcode must be string/);
  });

  it('resolves nested $refs: the bind response signatures go through server-signatures.yaml', () => {
    const bind = (body: unknown): ResponseUnderTest => ({ method: 'POST', path: `${V2}/3pid/bind`, status: 200, body });
    assert.equal(assertMatchesSpec(spec, bind(ASSOCIATION)).matched, 'bindV2');
    rejects(bind({ ...ASSOCIATION, signatures: { 'matrix.org': { 'ed25519:0': 5 } } }), /ed25519:0 must be string/);
    rejects(bind({ ...ASSOCIATION, ts: 1.5 }), /\/ts must be integer/);
    const { mxid: _mxid, ...withoutMxid } = ASSOCIATION;
    rejects(bind(withoutMxid), /required property 'mxid'/);
  });

  it('applies the errata: an empty v1 lookup, and v1 store-invite keys as objects', () => {
    assert.equal(assertMatchesSpec(spec, get(`${V1}/lookup`, 200, {})).matched, 'lookupUser');
    assert.equal(assertMatchesSpec(spec, get(`${V1}/lookup`, 200, ASSOCIATION)).matched, 'lookupUser');
    rejects(get(`${V1}/lookup`, 200, { mxid: '@ears:matrix.org' }));
    assert.equal(
      assertMatchesSpec(spec, get(`${V2}/hash_details`, 200, { lookup_pepper: 'p', algorithms: ['sha256'] })).matched,
      'getHashDetails',
    );

    const invite = (path: string, publicKeys: unknown[]): ResponseUnderTest => ({
      method: 'POST',
      path,
      status: 200,
      body: { token: 't', display_name: 'f...@b...', public_keys: publicKeys },
    });
    const keys = [
      { public_key: 'long', key_validity_url: 'https://is.example/_matrix/identity/api/v1/pubkey/isvalid' },
      {
        public_key: 'ephemeral',
        key_validity_url: 'https://is.example/_matrix/identity/api/v1/pubkey/ephemeral/isvalid',
      },
    ];
    assert.equal(assertMatchesSpec(spec, invite(`${V1}/store-invite`, keys)).matched, 'storeInvite');
    assert.equal(assertMatchesSpec(spec, invite(`${V1}/store-invite`, ['long', 'ephemeral'])).matched, 'storeInvite');
    rejects(invite(`${V1}/store-invite`, [{ public_key: 'long' }]));
    assert.equal(assertMatchesSpec(spec, invite(`${V2}/store-invite`, keys)).matched, 'storeInviteV2');
    rejects(invite(`${V2}/store-invite`, ['long', 'ephemeral']), /\/public_keys\/0 must be object/);
  });

  it('returns the verdict without throwing from validateResponse', () => {
    const verdict = spec.validateResponse(get(`${V2}/pubkey/isvalid`, 200, { valid: 'yes' }));
    assert.equal(verdict.operation, 'isPubKeyValidV2');
    assert.equal(verdict.rule, 'documented');
    assert.deepEqual(verdict.errors, ['/valid must be boolean']);
  });
});

describe('statuses and paths the spec does not document', () => {
  it('wants a Matrix error with errcode and error for an undocumented error status', () => {
    const path = `${V2}/account`;
    const unauthorized = { errcode: 'M_UNAUTHORIZED', error: 'Unrecognised access token' };
    assert.deepEqual(assertMatchesSpec(spec, get(path, 401, unauthorized)), {
      matched: 'getAccount',
      rule: 'matrix-error',
      status: 401,
      template: path,
    });
    rejects(get(path, 401, { errcode: 'M_UNAUTHORIZED' }), /status 401 is not documented for getAccount/);
    rejects(get(path, 401, { error: 'x' }));
    rejects(get(path, 500, 'Internal Server Error'));
  });

  it('fails a 2xx the operation does not document', () => {
    rejects(get(`${V2}/pubkey/ed25519:0`, 201, { public_key: 'abc' }), /status 201 is not documented/);
    rejects(get(`${V2}/pubkey/ed25519:0`, 204, {}));
  });

  it('wants a Matrix error where the spec documents a status without a body (unbind 404)', () => {
    const unbind = (status: number, body: unknown): ResponseUnderTest => ({
      method: 'POST',
      path: `${V2}/3pid/unbind`,
      status,
      body,
    });
    assert.equal(assertMatchesSpec(spec, unbind(404, { errcode: 'M_NOT_FOUND', error: 'x' })).rule, 'matrix-error');
    rejects(unbind(501, {}), /documents status 501 without a JSON body/);
  });

  it('wants a Matrix error for an unknown path, and never a 2xx', () => {
    const unrecognized = { errcode: 'M_UNRECOGNIZED', error: 'x' };
    assert.deepEqual(assertMatchesSpec(spec, get('/_matrix/identity/v3/nothing', 404, unrecognized)), {
      matched: 'unknown-endpoint',
      rule: 'unknown-endpoint',
      status: 404,
    });
    rejects(get('/nowhere', 404, {}), /unknown-endpoint/);
    rejects(get('/nowhere', 200, unrecognized), /not an error status/);
  });

  it('wants a Matrix error for a method a documented path does not have', () => {
    const match = assertMatchesSpec(spec, {
      method: 'DELETE',
      path: '/_matrix/identity/versions',
      status: 405,
      body: { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' },
    });
    assert.deepEqual(match, {
      matched: 'unknown-method',
      rule: 'unknown-method',
      status: 405,
      template: '/_matrix/identity/versions',
    });
    rejects({ method: 'POST', path: `${V2}/pubkey/ed25519:0`, status: 405, body: { errcode: 'M_UNRECOGNIZED' } });
  });

  it('accepts a 2xx JSON object for a CORS preflight on any path', () => {
    const preflight = { method: 'OPTIONS', path: `${V2}/pubkey/ed25519:0`, status: 200, body: {} };
    assert.equal(assertMatchesSpec(spec, preflight).matched, 'preflight');
    assert.equal(assertMatchesSpec(spec, { ...preflight, path: '/nowhere' }).matched, 'preflight');
    rejects({ ...preflight, body: 'ok' });
    rejects({ ...preflight, status: 404 });
  });
});

describe('responses that are not JSON', () => {
  const nonJson = (method: string, path: string, status: number) => ({ method, path, status });

  it('allows the HTML of GET submitToken, its redirect to next_link and a 204', () => {
    for (const tree of [V2, V1]) {
      const path = `${tree}/validate/email/submitToken`;
      assert.equal(assertNonJsonAllowed(spec, nonJson('GET', path, 200)).matched, 'non-json');
      assert.equal(assertNonJsonAllowed(spec, nonJson('GET', path, 302)).rule, 'non-json');
      assert.equal(assertNonJsonAllowed(spec, nonJson('GET', path, 400)).rule, 'non-json');
    }
    assert.equal(assertNonJsonAllowed(spec, nonJson('GET', '/anywhere', 204)).rule, 'non-json');
  });

  it('allows a bare unbind 404 or 501, which means unbind is unsupported', () => {
    assert.equal(assertNonJsonAllowed(spec, nonJson('POST', `${V2}/3pid/unbind`, 501)).rule, 'non-json');
  });

  it('fails a non-JSON answer where the spec documents JSON or says nothing', () => {
    assert.throws(() => assertNonJsonAllowed(spec, nonJson('GET', `${V2}/pubkey/ed25519:0`, 200)), SpecMismatchError);
    assert.throws(
      () => assertNonJsonAllowed(spec, nonJson('POST', `${V2}/validate/email/submitToken`, 200)),
      /not JSON/,
    );
    assert.throws(() => assertNonJsonAllowed(spec, nonJson('GET', '/nowhere', 404)), /Content-Type application\/json/);
  });

  it('knows a JSON content type', () => {
    assert.equal(isJsonContentType('application/json'), true);
    assert.equal(isJsonContentType('Application/JSON; charset=utf-8'), true);
    assert.equal(isJsonContentType('application/problem+json'), true);
    assert.equal(isJsonContentType('text/html; charset=utf-8'), false);
    assert.equal(isJsonContentType(null), false);
  });
});

describe('observedFetch', () => {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fakeFetch = (reply: () => Response): typeof fetch =>
    (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), init });
      return reply();
    }) as typeof fetch;
  const json = (status: number, body: string) =>
    new Response(body, { status, headers: { 'content-type': 'application/json' } });

  it('checks every JSON response and says what it matched', async () => {
    const observed = observedFetch(spec, {
      baseUrl: 'http://127.0.0.1:8090',
      fetch: fakeFetch(() => json(200, '{"public_key":"abc"}')),
    });
    const res = await observed<{ public_key: string }>(`${V2}/pubkey/ed25519%3A0`);
    assert.equal(res.status, 200);
    assert.equal(res.matched, 'getPubKeyV2');
    assert.equal(res.body.public_key, 'abc');
    assert.equal(res.headers.get('content-type'), 'application/json');
    const last = calls.at(-1);
    assert.equal(last?.url, `http://127.0.0.1:8090${V2}/pubkey/ed25519%3A0`);
    assert.equal(last?.init?.redirect, 'manual');
  });

  it('throws when a JSON response breaks the spec', async () => {
    const observed = observedFetch(spec, { fetch: fakeFetch(() => json(200, '{"valid":"yes"}')) });
    await assert.rejects(observed(`http://127.0.0.1:8090${V2}/pubkey/isvalid?public_key=x`), SpecMismatchError);
  });

  it('throws when a body that claims JSON does not parse', async () => {
    const observed = observedFetch(spec, { fetch: fakeFetch(() => json(200, '{"valid":')) });
    await assert.rejects(observed(`http://127.0.0.1:8090${V2}/pubkey/isvalid`), /does not parse/);
  });

  it('checks the method it sent', async () => {
    const observed = observedFetch(spec, {
      fetch: fakeFetch(() => json(405, '{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}')),
    });
    const res = await observed(`http://127.0.0.1:8090${V2}/pubkey/ed25519:0`, { method: 'post', body: '{}' });
    assert.equal(res.matched, 'unknown-method');
  });

  it('returns the HTML of GET submitToken unchecked, as text', async () => {
    const html = '<html><body>Verified</body></html>';
    const observed = observedFetch(spec, {
      fetch: fakeFetch(() => new Response(html, { status: 200, headers: { 'content-type': 'text/html' } })),
    });
    const res = await observed(`http://127.0.0.1:8090${V2}/validate/email/submitToken?sid=1&client_secret=c&token=t`);
    assert.equal(res.matched, 'non-json');
    assert.equal(res.body, undefined);
    assert.equal(res.text, html);
  });
});

describe('loading spec files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spec-validator-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  };
  write(
    'v2/api/client-server/definitions/errors/error.yaml',
    'type: object\nproperties:\n  errcode: {type: string}\n  error: {type: string}\nrequired: [errcode]\n',
  );
  write(
    'v2/api/identity/definitions/shared.yaml',
    [
      'thing:',
      '  type: object',
      '  x-internal: true',
      '  properties:',
      '    name: {$ref: "#/name"}',
      '    child: {$ref: "#/thing"}',
      '    example: {type: integer, example: 3}',
      'name:',
      '  type: string',
      '  format: mx-user-id',
      '',
    ].join('\n'),
  );
  write(
    'v2/api/identity/things.yaml',
    [
      'openapi: 3.1.0',
      'servers: [{url: "https://example.org/_things/v9"}]',
      'paths:',
      '  /thing/{id}:',
      '    get:',
      '      responses:',
      '        "200":',
      '          content:',
      '            application/json:',
      '              schema:',
      '                $ref: definitions/shared.yaml#/thing',
      '                required: [name]',
      '        "4XX":',
      '          content: {application/json: {schema: {$ref: "../client-server/definitions/errors/error.yaml"}}}',
      '',
    ].join('\n'),
  );
  write(
    'v1/api/identity/old.yaml',
    [
      'swagger: "2.0"',
      'basePath: /_old/',
      'paths:',
      '  /pair:',
      '    post:',
      '      operationId: pair',
      '      responses:',
      '        200:',
      '          schema:',
      '            type: object',
      '            properties:',
      '              pair: {type: array, items: [{type: string}, {type: integer}]}',
      '',
    ].join('\n'),
  );
  const fixture = loadSpec(dir, { eager: true, errata: [] });

  it('takes the base path from a server URL without variables, and a Swagger basePath with a trailing slash', () => {
    assert.deepEqual(
      fixture.operations.map((op) => [op.operationId, op.template]),
      [
        ['pair', '/_old/pair'],
        ['GET /_things/v9/thing/{id}', '/_things/v9/thing/{id}'],
      ],
    );
  });

  it('inlines $ref pointers, a $ref beside other keywords, and stops at a cycle', () => {
    const path = '/_things/v9/thing/1';
    assert.equal(assertMatchesSpec(fixture, get(path, 200, { name: 'n', example: 1 })).rule, 'documented');
    assert.throws(() => assertMatchesSpec(fixture, get(path, 200, {})), /required property 'name'/);
    assert.throws(() => assertMatchesSpec(fixture, get(path, 200, { name: 1 })), /\/name must be string/);
    assert.throws(() => assertMatchesSpec(fixture, get(path, 200, { name: 'n', example: 'x' })), /must be integer/);
    // The recursion point accepts anything.
    assert.equal(assertMatchesSpec(fixture, get(path, 200, { name: 'n', child: { name: 5 } })).rule, 'documented');
    assert.ok(fixture.notes.some((note) => note.startsWith('cyclic $ref')));
    assert.ok(fixture.notes.some((note) => note.startsWith('format mx-user-id is not checked')));
  });

  it('matches a status range, and draft-04 tuples in Swagger 2.0', () => {
    assert.equal(
      assertMatchesSpec(fixture, get('/_things/v9/thing/1', 418, { errcode: 'M_TEAPOT', error: 'x' })).rule,
      'documented',
    );
    const pair = (body: unknown) => ({ method: 'POST', path: '/_old/pair', status: 200, body });
    assert.equal(assertMatchesSpec(fixture, pair({ pair: ['a', 1] })).matched, 'pair');
    assert.throws(() => assertMatchesSpec(fixture, pair({ pair: [1, 'a'] })), SpecMismatchError);
  });
});
