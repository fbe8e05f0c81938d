import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { currentCorrelationId } from '@tessera/correlation';
import type { LookupRequest } from '@tessera/proto/tessera/directory/v1/directory';
import { Medium } from '@tessera/proto/tessera/session/v1/session';
import { associationJson, type DirectoryApp, PEPPER, startDirectoryApp } from '../../test-support/directory-fixture.js';
import { ALICE_TOKEN, BOB_TOKEN, unavailable } from '../../test-support/session-fixture.js';

let app: DirectoryApp;
before(async () => {
  app = await startDirectoryApp();
});
after(() => app.close());
beforeEach(() => app.reset());

const ALICE_HASH = '4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc';
const BOB_HASH = 'LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8';

/** Resolves once `condition` holds, checking at every turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

/** Holds a directory call until the test calls release(). */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { release, opened };
}

/** A directory method's answer whose first call is held until release(); later calls answer at once. */
function holdingFirstCall<Request, Answer>(answer: (request: Request) => Promise<Answer>) {
  const { release, opened } = gate();
  let calls = 0;
  return {
    release,
    answer: async (request: Request) => {
      calls++;
      if (calls === 1) await opened;
      return answer(request);
    },
  };
}

describe('GET v1 lookup', () => {
  it('answers the stored association JSON byte for byte, the address normalised for the directory', async () => {
    const res = await app.call('/api/v1/lookup?medium=email&address=Alice%40Example.ORG');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.text, associationJson('alice@example.org', '@alice:example.org'));
    assert.deepEqual(app.directory.requestsOf('lookup'), [
      { threepids: [{ medium: Medium.MEDIUM_EMAIL, address: 'alice@example.org' }], mxidOnly: false },
    ]);
  });

  it('answers {} for a 3PID bound to nobody', async () => {
    const res = await app.call('/api/v1/lookup?medium=msisdn&address=447400999999');
    assert.deepEqual([res.status, res.body], [200, {}]);
  });

  it('answers {} for an unknown medium or an address that does not parse, as Sydent does, without asking the directory', async () => {
    for (const query of [
      'medium=carrier-pigeon&address=coo',
      'medium=email&address=not-an-email',
      'medium=msisdn&address=%2B447400123456',
    ]) {
      const res = await app.call(`/api/v1/lookup?${query}`);
      assert.deepEqual([res.status, res.body], [200, {}], query);
    }
    assert.deepEqual(app.directory.requestsOf('lookup'), []);
  });

  it('names a missing medium or address with M_MISSING_PARAMS, and is v1 only', async () => {
    for (const query of ['medium=email', 'address=alice%40example.org', 'medium=&address=x']) {
      const res = await app.call(`/api/v1/lookup?${query}`);
      assert.deepEqual([res.status, res.body?.errcode], [400, 'M_MISSING_PARAMS'], query);
    }
    assert.equal((await app.call('/v2/lookup?medium=email&address=a%40b.org')).status, 405);
  });

  it('answers 503 M_UNKNOWN when the directory is unreachable', async () => {
    app.directory.script.lookup = async () => {
      throw unavailable();
    };
    const res = await app.call('/api/v1/lookup?medium=email&address=alice%40example.org');
    assert.deepEqual([res.status, res.body?.errcode], [503, 'M_UNKNOWN']);
  });
});

describe('POST v1 bulk_lookup', () => {
  it('answers the matches only, each with the medium and address as sent', async () => {
    const threepids = [
      ['email', 'ALICE@example.org'],
      ['email', 'nobody@example.org'],
      ['msisdn', '447400123456'],
      ['carrier-pigeon', 'coo'],
      ['email', 'not an email'],
    ];
    const res = await app.call('/api/v1/bulk_lookup', { json: { threepids } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {
      threepids: [
        ['email', 'ALICE@example.org', '@alice:example.org'],
        ['msisdn', '447400123456', '@bob:example.org'],
      ],
    });
    // What cannot be bound is not asked for; the signed JSON is not asked for either.
    assert.deepEqual(app.directory.requestsOf('lookup'), [
      {
        threepids: [
          { medium: Medium.MEDIUM_EMAIL, address: 'alice@example.org' },
          { medium: Medium.MEDIUM_EMAIL, address: 'nobody@example.org' },
          { medium: Medium.MEDIUM_MSISDN, address: '447400123456' },
        ],
        mxidOnly: true,
      },
    ]);
  });

  it('answers an empty list without a directory call', async () => {
    const res = await app.call('/api/v1/bulk_lookup', { json: { threepids: [] } });
    assert.deepEqual(res.body, { threepids: [] });
    assert.deepEqual(app.directory.requestsOf('lookup'), []);
  });

  it('refuses threepids that are missing, or not a list of [medium, address] string pairs', async () => {
    const missing = await app.call('/api/v1/bulk_lookup', { json: {} });
    assert.deepEqual([missing.status, missing.body?.errcode], [400, 'M_MISSING_PARAMS']);
    for (const threepids of [
      'email alice@example.org',
      { email: 'a@b.org' },
      [['email']],
      [['email', 'a@b.org', 'x']],
      [['email', 7]],
      ['email'],
    ]) {
      const res = await app.call('/api/v1/bulk_lookup', { json: { threepids } });
      assert.deepEqual([res.status, res.body?.errcode], [400, 'M_INVALID_PARAM'], JSON.stringify(threepids));
    }
    assert.deepEqual(app.directory.requestsOf('lookup'), []);
  });
});

describe('coalesced v1 lookups', () => {
  it('sends the lookups and bulk_lookups that arrive while a call is under way in one next call, each answered its own part, with the signed JSON', async () => {
    const first = holdingFirstCall(async (request: LookupRequest) => ({
      results: request.threepids.map(({ address }) => ({
        mxid: `@${address.split('@')[0]}:example.org`,
        associationJson: `{"a":"${address}"}`,
      })),
    }));
    app.directory.script.lookup = first.answer;
    const waiting = app.call('/api/v1/lookup?medium=email&address=one%40example.org');
    await until(() => app.directory.requestsOf('lookup').length === 1);
    const meanwhile = [
      app.call('/api/v1/lookup?medium=email&address=two%40example.org'),
      app.call('/api/v1/bulk_lookup', {
        json: {
          threepids: [
            ['email', 'three@example.org'],
            ['email', 'four@example.org'],
          ],
        },
      }),
      app.call('/api/v1/lookup?medium=email&address=five%40example.org'),
    ];
    await until(() => app.entered.lookup === 4);
    assert.equal(app.directory.requestsOf('lookup').length, 1, 'nothing more while the first call is under way');
    first.release();
    assert.equal((await waiting).text, '{"a":"one@example.org"}');
    const [two, bulk, five] = await Promise.all(meanwhile);
    assert.equal(two?.text, '{"a":"two@example.org"}');
    assert.deepEqual(bulk?.body, {
      threepids: [
        ['email', 'three@example.org', '@three:example.org'],
        ['email', 'four@example.org', '@four:example.org'],
      ],
    });
    assert.equal(five?.text, '{"a":"five@example.org"}');
    const requests = app.directory.requestsOf('lookup');
    assert.equal(requests.length, 2);
    // The single lookups in it need the signed JSON: the whole call asks for it.
    assert.deepEqual(
      requests.map(({ mxidOnly }) => mxidOnly),
      [false, false],
    );
    assert.deepEqual(requests[1]?.threepids.map(({ address }) => address).sort(), [
      'five@example.org',
      'four@example.org',
      'three@example.org',
      'two@example.org',
    ]);
  });

  it('asks for the mxids only in a call that carries bulk_lookups alone, each answered its own part', async () => {
    const first = holdingFirstCall(app.directory.usual.lookup);
    app.directory.script.lookup = first.answer;
    const waiting = app.call('/api/v1/lookup?medium=email&address=alice%40example.org');
    await until(() => app.directory.requestsOf('lookup').length === 1);
    const bulks = [
      app.call('/api/v1/bulk_lookup', { json: { threepids: [['email', 'alice@example.org']] } }),
      app.call('/api/v1/bulk_lookup', { json: { threepids: [['msisdn', '447400123456']] } }),
    ];
    await until(() => app.entered.lookup === 3);
    first.release();
    assert.equal((await waiting).text, associationJson('alice@example.org', '@alice:example.org'));
    const [alice, bob] = await Promise.all(bulks);
    assert.deepEqual(alice?.body, { threepids: [['email', 'alice@example.org', '@alice:example.org']] });
    assert.deepEqual(bob?.body, { threepids: [['msisdn', '447400123456', '@bob:example.org']] });
    assert.deepEqual(
      app.directory.requestsOf('lookup').map(({ threepids, mxidOnly }) => [threepids.length, mxidOnly]),
      [
        [1, false],
        [2, true],
      ],
    );
  });
});

describe('GET v2 hash_details', () => {
  it('answers the pepper and the algorithms to a token holder who accepted the terms', async () => {
    const res = await app.call('/v2/hash_details', { token: ALICE_TOKEN });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { lookup_pepper: PEPPER, algorithms: ['sha256', 'none'] });
  });

  it('answers 401 without a token and 403 M_TERMS_NOT_SIGNED before the terms are accepted, and is v2 only', async () => {
    const none = await app.call('/v2/hash_details');
    assert.deepEqual([none.status, none.body?.errcode], [401, 'M_UNAUTHORIZED']);
    const unsigned = await app.call('/v2/hash_details', { token: BOB_TOKEN });
    assert.deepEqual([unsigned.status, unsigned.body?.errcode], [403, 'M_TERMS_NOT_SIGNED']);
    assert.equal((await app.call('/api/v1/hash_details')).status, 404);
    assert.deepEqual(app.directory.requestsOf('hashDetails'), []);
  });
});

describe('POST v2 lookup', () => {
  const query = { algorithm: 'sha256', pepper: PEPPER, addresses: [ALICE_HASH, BOB_HASH] };

  it('maps each address as sent to its user, the unmatched left out', async () => {
    const res = await app.call('/v2/lookup', { json: query, token: ALICE_TOKEN });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { mappings: { [ALICE_HASH]: '@alice:example.org' } });
    assert.deepEqual(app.directory.requestsOf('hashedLookup'), [{ queries: [query] }]);
  });

  it('keeps an address named like an Object property as a plain key', async () => {
    app.directory.script.hashedLookup = async ({ queries }) => ({
      answers: queries.map(({ addresses }) => ({
        outcome: { $case: 'mappings', value: { mxids: addresses.map(() => '@x:example.org') } },
      })),
    });
    const addresses = ['__proto__', 'constructor'];
    const res = await app.call('/v2/lookup', { json: { ...query, addresses }, token: ALICE_TOKEN });
    assert.equal(res.text, '{"mappings":{"__proto__":"@x:example.org","constructor":"@x:example.org"}}');
  });

  it('answers 400 M_INVALID_PEPPER with the algorithm and the current pepper, as Sydent does', async () => {
    const res = await app.call('/v2/lookup', { json: { ...query, pepper: 'stale' }, token: ALICE_TOKEN });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      errcode: 'M_INVALID_PEPPER',
      error: 'wrong pepper',
      algorithm: 'sha256',
      lookup_pepper: PEPPER,
    });
  });

  it("answers the directory's M_INVALID_PARAM and M_TOO_LARGE as 400s", async () => {
    for (const errcode of ['M_INVALID_PARAM', 'M_TOO_LARGE']) {
      app.directory.script.hashedLookup = async ({ queries }) => ({
        answers: queries.map(() => ({
          outcome: { $case: 'error', value: { errcode, error: 'no', lookupPepper: '', algorithm: '' } },
        })),
      });
      const res = await app.call('/v2/lookup', { json: query, token: ALICE_TOKEN });
      assert.equal(res.status, 400, errcode);
      assert.deepEqual(res.body, { errcode, error: 'no' });
    }
  });

  it('refuses a body of the wrong shape before calling the directory', async () => {
    for (const [body, errcode] of [
      [{ pepper: PEPPER, addresses: [] }, 'M_MISSING_PARAMS'],
      [{ algorithm: 'sha256', addresses: [] }, 'M_MISSING_PARAMS'],
      [{ algorithm: 'sha256', pepper: PEPPER }, 'M_MISSING_PARAMS'],
      [{ ...query, algorithm: 256 }, 'M_INVALID_PARAM'],
      [{ ...query, pepper: ['x'] }, 'M_INVALID_PARAM'],
      [{ ...query, addresses: ALICE_HASH }, 'M_INVALID_PARAM'],
      [{ ...query, addresses: [ALICE_HASH, 7] }, 'M_INVALID_PARAM'],
    ] as const) {
      const res = await app.call('/v2/lookup', { json: body, token: ALICE_TOKEN });
      assert.deepEqual([res.status, res.body?.errcode], [400, errcode], JSON.stringify(body));
    }
    const none = await app.call('/v2/lookup', { json: query });
    assert.deepEqual([none.status, none.body?.errcode], [401, 'M_UNAUTHORIZED']);
    assert.deepEqual(app.directory.requestsOf('hashedLookup'), []);
  });

  it('shares one call among concurrent lookups, each with its own answer or error', async () => {
    // The fixture's usual answers, the first one held until released.
    const first = holdingFirstCall(app.directory.usual.hashedLookup);
    app.directory.script.hashedLookup = first.answer;
    const firstRequest = app.call('/v2/lookup', { json: query, token: ALICE_TOKEN });
    await until(() => app.directory.requestsOf('hashedLookup').length === 1);
    const meanwhile = [
      app.call('/v2/lookup', { json: { ...query, addresses: [ALICE_HASH] }, token: ALICE_TOKEN }),
      app.call('/v2/lookup', { json: { ...query, pepper: 'stale' }, token: ALICE_TOKEN }),
      app.call('/v2/lookup', { json: { ...query, addresses: [BOB_HASH] }, token: ALICE_TOKEN }),
    ];
    await until(() => app.entered.hashedLookup === 4);
    first.release();
    assert.equal((await firstRequest).status, 200);
    const [aliceOnly, stale, bobOnly] = await Promise.all(meanwhile);
    assert.deepEqual(aliceOnly?.body, { mappings: { [ALICE_HASH]: '@alice:example.org' } });
    assert.deepEqual(
      [stale?.status, stale?.body?.errcode, stale?.body?.lookup_pepper],
      [400, 'M_INVALID_PEPPER', PEPPER],
    );
    assert.deepEqual(bobOnly?.body, { mappings: {} });
    const requests = app.directory.requestsOf('hashedLookup');
    assert.equal(requests.length, 2);
    assert.equal(requests[1]?.queries.length, 3);
  });
});

/** A POST with a body as given, for bodies the fixture's client would not make. */
async function rawPost(path: string, body: string | Uint8Array, headers: Record<string, string>) {
  const res = await fetch(`${app.base}${path}`, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
}

// These routes are served on the lean path (lean-path.ts), which reads their bodies with the same
// readers as Express: the same refusals, and the request id kept past the reading of the body.
describe('the lookups’ request bodies on the lean path', () => {
  const json = { 'content-type': 'application/json', authorization: `Bearer ${ALICE_TOKEN}` };

  it('answers malformed JSON with 400 M_NOT_JSON and JSON that is not an object with 400 M_BAD_JSON', async () => {
    for (const path of ['/api/v1/bulk_lookup', '/v2/lookup']) {
      const broken = await rawPost(path, '{"threepids":', json);
      assert.deepEqual([broken.status, broken.body.errcode], [400, 'M_NOT_JSON'], path);
      for (const text of ['[1]', '"x"', 'null']) {
        const notObject = await rawPost(path, text, json);
        assert.deepEqual([notObject.status, notObject.body.errcode], [400, 'M_BAD_JSON'], `${path} ${text}`);
      }
    }
    assert.deepEqual(app.directory.requestsOf('lookup'), []);
    assert.deepEqual(app.directory.requestsOf('hashedLookup'), []);
  });

  it('answers a body over the limit with 413 M_TOO_LARGE', async () => {
    const big = JSON.stringify({ threepids: [], padding: 'x'.repeat(100 * 1024) });
    for (const path of ['/api/v1/bulk_lookup', '/v2/lookup']) {
      const res = await rawPost(path, big, json);
      assert.deepEqual([res.status, res.body.errcode], [413, 'M_TOO_LARGE'], path);
    }
  });

  it('reads a form body on v1 only: v2 reads any body as JSON', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${ALICE_TOKEN}` };
    const v1 = await rawPost('/api/v1/bulk_lookup', 'threepids=email', form);
    assert.deepEqual([v1.status, v1.body.errcode], [400, 'M_INVALID_PARAM'], 'read as fields: threepids is no list');
    const v2 = await rawPost('/v2/lookup', 'algorithm=sha256', form);
    assert.deepEqual([v2.status, v2.body.errcode], [400, 'M_NOT_JSON']);
  });

  it("makes the caller's X-Request-Id the correlation id of the directory call made after the body was read", async () => {
    let seen: string | undefined;
    app.directory.script.lookup = async (request) => {
      seen = currentCorrelationId();
      return app.directory.usual.lookup(request);
    };
    const res = await rawPost('/api/v1/bulk_lookup', JSON.stringify({ threepids: [['email', 'a@example.org']] }), {
      ...json,
      'x-request-id': 'bulk-7f3a',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'bulk-7f3a');
    assert.equal(seen, 'bulk-7f3a');
  });

  it('answers as Express does for the same route (a trailing slash goes to Express)', async () => {
    const bodies: [string, unknown][] = [
      ['/api/v1/bulk_lookup', { threepids: [['email', 'alice@example.org']] }],
      ['/api/v1/bulk_lookup', { threepids: 'no' }],
      ['/v2/lookup', { algorithm: 'sha256', pepper: PEPPER, addresses: [ALICE_HASH] }],
      ['/v2/lookup', { algorithm: 'sha256', pepper: 'stale', addresses: [ALICE_HASH] }],
    ];
    for (const [path, body] of bodies) {
      const lean = await rawPost(path, JSON.stringify(body), json);
      const viaExpress = await rawPost(`${path}/`, JSON.stringify(body), json);
      assert.deepEqual([lean.status, lean.body], [viaExpress.status, viaExpress.body], path);
      assert.equal(lean.headers.get('content-type'), viaExpress.headers.get('content-type'));
      assert.equal(lean.headers.get('access-control-allow-origin'), '*');
    }
    for (const query of ['medium=email&address=alice%40example.org', 'medium=email']) {
      const lean = await app.call(`/api/v1/lookup?${query}`);
      const viaExpress = await app.call(`/api/v1/lookup/?${query}`);
      assert.deepEqual([lean.status, lean.text], [viaExpress.status, viaExpress.text], query);
    }
    const lean = await app.call('/v2/hash_details', { token: ALICE_TOKEN });
    const viaExpress = await app.call('/v2/hash_details/', { token: ALICE_TOKEN });
    assert.deepEqual([lean.status, lean.text], [viaExpress.status, viaExpress.text]);
  });
});
