import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, generateSeed, signJson } from '@tessera/canonical-json';
import { checkAssociationItem, withOurSignature } from './association-items.js';

const TS = 1_600_000_000_000;
const fields = {
  medium: 'email',
  address: 'ivy@example.org',
  mxid: '@ivy:hs.example',
  ts: TS,
  not_before: TS,
  not_after: TS + 100 * 365 * 86_400_000,
};
const item = (association: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  importId: 'sydent:id.example:1',
  association: { ...fields, ...association },
  ...extra,
});
const reasonOf = (value: unknown) => {
  try {
    checkAssociationItem(value);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};

describe('checkAssociationItem', () => {
  it('keeps the six fields as signed and gives the 3PID normalised, with the lower-cased form where it differs', () => {
    const peer = checkAssociationItem(
      item({ address: 'Ivy@Example.org', signatures: { 'peer.example': { 'ed25519:0': 's' } } }),
    );
    assert.deepEqual(peer, {
      importId: 'sydent:id.example:1',
      fields: { ...fields, address: 'Ivy@Example.org' },
      signatures: { 'peer.example': { 'ed25519:0': 's' } },
      address: 'ivy@example.org',
      clientLowercaseAddress: '',
    });
    const straße = checkAssociationItem(item({ address: 'Straße@Example.org' }));
    assert.equal(straße.address, 'strasse@example.org');
    assert.equal(straße.clientLowercaseAddress, 'straße@example.org');
    const phone = checkAssociationItem(item({ medium: 'msisdn', address: '447700900123' }));
    assert.deepEqual([phone.address, phone.clientLowercaseAddress, phone.signatures], ['447700900123', '', {}]);
  });

  it('refuses, with the reason, anything but the six fields and signatures', () => {
    assert.match(reasonOf(item({ invites: [] })), /only the six signed fields and signatures, not "invites"/);
    assert.match(reasonOf(item({}, { note: 1 })), /unknown item field "note"/);
    assert.match(reasonOf(item({ mxid: undefined })), /mxid must be a string/);
    assert.match(reasonOf({ importId: 'x' }), /association must be a JSON object/);
    assert.match(reasonOf([]), /an item must be a JSON object/);
  });

  it('refuses a bad importId, medium, address or user ID', () => {
    assert.match(reasonOf({ ...item(), importId: '' }), /importId/);
    assert.match(reasonOf({ ...item(), importId: 'a\nb' }), /importId/);
    assert.match(reasonOf({ ...item(), importId: 'x'.repeat(257) }), /importId/);
    assert.match(reasonOf(item({ medium: 'fax' })), /medium/);
    assert.match(reasonOf(item({ address: 'not an address' })), /plain local@domain/);
    assert.match(reasonOf(item({ medium: 'msisdn', address: '+447700900123' })), /msisdn/);
    assert.match(reasonOf(item({ mxid: 'ivy' })), /Matrix user ID/);
  });

  it('refuses timestamps that are no milliseconds, or a window that ends before it starts or before ts', () => {
    for (const bad of [{ ts: -1 }, { ts: 1.5 }, { ts: '1' }, { not_after: 2 ** 53 }, { not_before: null }])
      assert.match(reasonOf(item(bad)), /must be milliseconds since the epoch/, JSON.stringify(bad));
    assert.match(reasonOf(item({ not_before: TS + 1, not_after: TS })), /not_before must not be after not_after/);
    assert.match(reasonOf(item({ not_after: TS - 1, not_before: 0 })), /ts must not be after not_after/);
    assert.equal(reasonOf(item({ not_before: TS - 5, ts: TS })), 'accepted');
  });

  it('refuses signatures of another shape, or too many', () => {
    for (const signatures of [
      'x',
      { a: 'x' },
      { a: { k: 1 } },
      { a: { k: 'y'.repeat(257) } },
      Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`s${i}`, {}])),
    ])
      assert.match(reasonOf(item({ signatures })), /signatures|signers/, JSON.stringify(signatures).slice(0, 60));
  });
});

describe('withOurSignature', () => {
  const seed = generateSeed();
  const signed = (association: object) =>
    JSON.stringify(signJson(association, { entity: 'id.example', keyId: 'ed25519:0', seed }));
  const ours = (checked: ReturnType<typeof checkAssociationItem>) => withOurSignature(checked, signed(checked.fields));

  it('adds ours where none of that key was given, keeping every other signature', () => {
    const checked = checkAssociationItem(item({ signatures: { 'peer.example': { 'ed25519:a': 'peer' } } }));
    const { associationJson, ourSignature } = ours(checked);
    const expected = JSON.parse(signed(checked.fields)).signatures['id.example']['ed25519:0'];
    assert.equal(ourSignature, 'added');
    assert.equal(
      associationJson,
      canonicalJson({
        ...fields,
        signatures: { 'peer.example': { 'ed25519:a': 'peer' }, 'id.example': { 'ed25519:0': expected } },
      }),
    );
  });

  it("answers same for a given signature equal to ours, and changed (replacing it) for another; other keys' kept", () => {
    const clean = JSON.parse(signed(fields)).signatures['id.example']['ed25519:0'] as string;
    const same = ours(checkAssociationItem(item({ signatures: { 'id.example': { 'ed25519:0': clean } } })));
    assert.equal(same.ourSignature, 'same');
    assert.equal(
      same.associationJson,
      canonicalJson({ ...fields, signatures: { 'id.example': { 'ed25519:0': clean } } }),
    );
    const stale = { 'id.example': { 'ed25519:0': 'old', 'ed25519:old': 'kept' } };
    const changed = ours(checkAssociationItem(item({ signatures: stale })));
    assert.equal(changed.ourSignature, 'changed');
    assert.deepEqual(JSON.parse(changed.associationJson).signatures, {
      'id.example': { 'ed25519:0': clean, 'ed25519:old': 'kept' },
    });
  });
});
