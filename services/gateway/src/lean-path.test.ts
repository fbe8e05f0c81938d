import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerJson } from './answer.js';
import { leanRoutes } from './lean-path.js';
import type { Route } from './routes/route.js';

const answer = () => answerJson({});
const express = () => {};
// A table like the gateway's: answering routes among Express ones, isvalid before :keyId.
const ROUTES: Route[] = [
  { method: 'GET', path: '/v2', answer },
  { method: 'GET', path: '/v2/pubkey/isvalid', answer },
  { method: 'GET', path: '/v2/pubkey/:keyId', answer },
  { method: 'POST', path: '/v2/lookup', body: 'json', answer },
  { method: 'GET', path: '/v2/account', handler: express },
  { method: 'POST', path: '/v2/3pid/bind', body: 'json', handler: express },
];
const routeOf = leanRoutes(ROUTES);
const pathOf = (method: string, url: string) => routeOf(method, url)?.route.path;
const leftToExpress = (urls: string[]) => {
  for (const url of urls) assert.equal(routeOf('GET', url), undefined, url);
};

describe('which requests the lean path takes', () => {
  it('takes GET and POST of the answering routes, with their decoded parameters and the query string as sent', () => {
    assert.equal(pathOf('GET', '/_matrix/identity/v2'), '/v2');
    assert.equal(pathOf('GET', '/_matrix/identity/v2/pubkey/isvalid?public_key=a%2Bb'), '/v2/pubkey/isvalid');
    assert.equal(
      routeOf('GET', '/_matrix/identity/v2/pubkey/isvalid?public_key=a%2Bb')?.queryString,
      'public_key=a%2Bb',
    );
    assert.deepEqual(routeOf('GET', '/_matrix/identity/v2/pubkey/ed25519%3A0')?.params, { keyId: 'ed25519:0' });
    assert.equal(pathOf('POST', '/_matrix/identity/v2/lookup'), '/v2/lookup');
  });

  it('matches literals without regard to case, as Express does, so both would take the same route', () => {
    assert.equal(pathOf('GET', '/_MATRIX/Identity/V2/PubKey/IsValid?public_key=x'), '/v2/pubkey/isvalid');
    assert.deepEqual(routeOf('GET', '/_matrix/identity/V2/PUBKEY/Ed25519:0')?.params, { keyId: 'Ed25519:0' });
  });

  it("leaves Express's own routes, other methods (405, HEAD, preflights) and unknown paths (404) to Express", () => {
    assert.equal(routeOf('GET', '/_matrix/identity/v2/account'), undefined);
    assert.equal(routeOf('POST', '/_matrix/identity/v2/3pid/bind'), undefined);
    for (const method of ['HEAD', 'OPTIONS', 'PUT', 'DELETE']) {
      assert.equal(routeOf(method, '/_matrix/identity/v2/pubkey/ed25519:0'), undefined, method);
    }
    assert.equal(routeOf('POST', '/_matrix/identity/v2/pubkey/ed25519:0'), undefined, 'a 405');
    assert.equal(routeOf('GET', '/_matrix/identity/v2/lookup'), undefined, 'a 405');
    leftToExpress([
      '/_matrix/identity/v3',
      '/_matrix/identity',
      '/_matrix/identity/',
      '/_matrix/identityv2',
      '/elsewhere/v2',
      '/_matrix/identity/v2/pubkey',
      '/_matrix/identity/v2/pubkey/a/b',
      'http://host/_matrix/identity/v2',
    ]);
  });

  it('leaves to Express what it might read differently: a trailing slash, an empty or undecodable parameter', () => {
    leftToExpress([
      '/_matrix/identity/v2/',
      '/_matrix/identity/v2/pubkey/ed25519:0/',
      '/_matrix/identity/v2/pubkey//',
      '/_matrix/identity/v2/pubkey/%zz',
      '/_matrix/identity/v2/pubkey/%ff%fe',
    ]);
  });

  it('never passes over an earlier route Express would take first, nor one whose pattern it cannot read', () => {
    const shadowed = leanRoutes([{ method: 'GET', path: '/v2/pubkey/:anything', handler: express }, ...ROUTES]);
    assert.equal(shadowed('GET', '/_matrix/identity/v2/pubkey/isvalid'), undefined);
    const wildcard = leanRoutes([{ method: 'GET', path: '/v2/*rest', handler: express }, ...ROUTES]);
    assert.equal(wildcard('GET', '/_matrix/identity/v2/pubkey/ed25519:0'), undefined);
    assert.equal(wildcard('POST', '/_matrix/identity/v2/lookup')?.route.path, '/v2/lookup', 'only for its method');
  });
});
