import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SignatureCheckRequest } from '@tessera/admin-imports';
import { SAMPLE_DB } from '../../test-support/sydent-sample.js';
import { checkSigningKey, firstSydentSignedAssociation } from './check-signing-key.js';
import type { GlobalAssociationRow, LocalAssociationRow } from './sydent-db.js';
import { openSydentSnapshot } from './sydent-db.js';

const SELF = 'id.example.test';
const NOW = 1796186273288;
const WHERE = { sydentKeyId: 'ed25519:0', keyFile: '/var/lib/tessera/signing/signing.key' };

function rows(globals: GlobalAssociationRow[], locals: LocalAssociationRow[]) {
  return {
    localAssociations: () => locals,
    globalAssociations: () => globals,
    peerNames: () => ['peer.example.test'],
    pepper: () => null,
  };
}

function ownRow(id: number, signed: Record<string, unknown>): [GlobalAssociationRow, LocalAssociationRow] {
  const fields = { medium: 'email', address: `u${id}@example.org`, mxid: `@u${id}:hs`, ts: 10, not_before: 10 };
  const columns = { medium: 'email', address: fields.address, mxid: fields.mxid, ts: 10, notBefore: 10 };
  return [
    {
      id,
      ...columns,
      notAfter: NOW * 2,
      originServer: SELF,
      originId: id,
      lookupHash: null,
      sgAssoc: JSON.stringify({ ...fields, not_after: NOW * 2, ...signed }),
    },
    { id, ...columns, notAfter: NOW * 2, lookupHash: null },
  ];
}

describe('checking that signing holds Sydent’s key', () => {
  it('probes with the first row that keeps Sydent’s own signature: the sample’s alice', () => {
    const db = openSydentSnapshot(SAMPLE_DB);
    try {
      const probe = firstSydentSignedAssociation(db, { serverName: SELF, now: NOW });
      assert.equal(probe?.item.importId, `sydent:${SELF}:1`);
      assert.equal(probe?.item.association.address, 'alice@example.org');
      assert.ok(probe?.item.association.signatures?.[SELF]?.['ed25519:0']);
    } finally {
      db.close();
    }
  });

  it('skips own rows whose signatures were dropped with leaked fields, and finds none when no other is left', () => {
    const signature = { signatures: { [SELF]: { 'ed25519:0': 'sig' } } };
    const [leakyGlobal, leakyLocal] = ownRow(1, { invites: [], ...signature });
    const [cleanGlobal, cleanLocal] = ownRow(2, signature);
    const found = firstSydentSignedAssociation(rows([leakyGlobal, cleanGlobal], [leakyLocal, cleanLocal]), {
      serverName: SELF,
      now: NOW,
    });
    assert.equal(found?.item.importId, `sydent:${SELF}:2`);
    const none = firstSydentSignedAssociation(rows([leakyGlobal], [leakyLocal]), { serverName: SELF, now: NOW });
    assert.equal(none, undefined);
  });

  it('without a probe warns and goes on, asking nothing', async () => {
    let asked = 0;
    const check = await checkSigningKey(
      undefined,
      async () => {
        asked++;
        return { keyId: 'ed25519:0', ourSignature: 'same' };
      },
      WHERE,
    );
    assert.equal(check.ok, true);
    assert.match(check.message, /^warning: no association keeps a signature of Sydent’s/);
    assert.equal(asked, 0);
  });

  it('goes on only when the directory’s signature is the same, naming the key and the file otherwise', async () => {
    const [global, local] = ownRow(3, { signatures: { [SELF]: { 'ed25519:0': 'sig' } } });
    const probe = firstSydentSignedAssociation(rows([global], [local]), { serverName: SELF, now: NOW });
    const sent: SignatureCheckRequest[] = [];
    const judge = (ourSignature: 'same' | 'changed' | 'added', keyId = 'ed25519:0') =>
      checkSigningKey(
        probe,
        async (request) => {
          sent.push(request);
          return { keyId, ourSignature };
        },
        WHERE,
      );
    assert.equal((await judge('same')).ok, true);
    assert.deepEqual(sent[0], { association: probe?.item.association });
    const changed = await judge('changed');
    assert.equal(changed.ok, false);
    assert.match(changed.message, /it signs with ed25519:0, and its signature of global 3 .* differs/);
    assert.match(changed.message, /\/var\/lib\/tessera\/signing\/signing\.key/);
    const added = await judge('added', 'ed25519:auto1');
    assert.equal(added.ok, false);
    assert.match(added.message, /it signs with ed25519:auto1, and Sydent signed global 3 .* under ed25519:0/);
  });
});
