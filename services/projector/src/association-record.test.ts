import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAssociation } from './association-record.js';

const signed = (fields: Record<string, unknown>) =>
  JSON.stringify({
    address: 'ivy@example.org',
    medium: 'email',
    mxid: '@ivy:peer.example',
    ts: 1_700_000_000_000,
    not_before: 1_700_000_000_000,
    not_after: 4_853_600_000_000,
    signatures: { 'peer.example': { 'ed25519:0': 'c2ln' } },
    ...fields,
  });

describe('parseAssociation', () => {
  it('reads the six fields of a signed association', () =>
    assert.deepEqual(parseAssociation(signed({})), {
      medium: 'email',
      address: 'ivy@example.org',
      mxid: '@ivy:peer.example',
      ts: 1_700_000_000_000,
      notBefore: 1_700_000_000_000,
      notAfter: 4_853_600_000_000,
    }));

  it("gives the normalised address of an association signed in its signer's case (a replication peer's)", () => {
    assert.equal(parseAssociation(signed({ address: 'Ivy@Example.org' }))?.address, 'ivy@example.org');
    assert.equal(
      parseAssociation(signed({ address: 'Jürgen.Straße@Example.DE' }))?.address,
      'jürgen.strasse@example.de',
    );
  });

  it('is null for what is no signed association: an invalid address, a missing field, a float, not JSON', () => {
    for (const json of [
      signed({ address: 'not an address' }),
      signed({ medium: 'msisdn', address: '+447700900123' }),
      signed({ mxid: undefined }),
      signed({ ts: 1.5 }),
      signed({ medium: 'fax' }),
      '{',
    ])
      assert.equal(parseAssociation(json), null, json);
  });
});
