import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevPkiFiles, ensureDevPki } from './dev-pki.js';

describe('ensureDevPki', () => {
  let dir: string;
  let files: DevPkiFiles;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-pki-'));
    files = await ensureDevPki(join(dir, 'pki'), { services: ['signing', 'gateway'] });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes the CA and a certificate and key per service, under the documented names', () => {
    const pki = join(dir, 'pki');
    assert.deepEqual(files, {
      dir: pki,
      caCertFile: join(pki, 'ca.pem'),
      caKeyFile: join(pki, 'ca-key.pem'),
      services: {
        signing: { certFile: join(pki, 'signing.pem'), keyFile: join(pki, 'signing-key.pem') },
        gateway: { certFile: join(pki, 'gateway.pem'), keyFile: join(pki, 'gateway-key.pem') },
      },
    });
  });

  it('makes keys readable by the owner only (0600) and certificates 0644', async () => {
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    assert.equal(await mode(files.caKeyFile), 0o600);
    assert.equal(await mode(files.caCertFile), 0o644);
    assert.equal(await mode(files.services.signing?.keyFile ?? ''), 0o600);
    assert.equal(await mode(files.services.signing?.certFile ?? ''), 0o644);
  });

  it('issues each service a server-and-client certificate for its name, localhost and 127.0.0.1', async () => {
    const ca = new X509Certificate(await readFile(files.caCertFile));
    const cert = new X509Certificate(await readFile(files.services.gateway?.certFile ?? ''));
    assert.equal(cert.subject, 'CN=gateway');
    assert.equal(cert.subjectAltName, 'DNS:gateway, DNS:localhost, IP Address:127.0.0.1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.ok(cert.verify(ca.publicKey));
  });

  it('keeps existing files and only adds what is missing', async () => {
    const before = await readFile(files.services.signing?.certFile ?? '', 'utf8');
    const caBefore = await readFile(files.caCertFile, 'utf8');
    const again = await ensureDevPki(files.dir, { services: ['signing', 'notifier'] });
    assert.equal(await readFile(again.services.signing?.certFile ?? '', 'utf8'), before);
    assert.equal(await readFile(again.caCertFile, 'utf8'), caBefore);
    const ca = new X509Certificate(caBefore);
    assert.ok(new X509Certificate(await readFile(again.services.notifier?.certFile ?? '')).verify(ca.publicKey));
  });

  it('issues the service certificates again when the CA had to be made anew', async () => {
    const before = await readFile(files.services.signing?.certFile ?? '', 'utf8');
    await unlink(files.caKeyFile);
    const again = await ensureDevPki(files.dir, { services: ['signing'] });
    const ca = new X509Certificate(await readFile(again.caCertFile));
    const cert = await readFile(again.services.signing?.certFile ?? '', 'utf8');
    assert.notEqual(cert, before);
    assert.ok(new X509Certificate(cert).verify(ca.publicKey));
  });

  it('refuses a service name that is not a plain file name', async () => {
    await assert.rejects(ensureDevPki(files.dir, { services: ['../escape'] }), /not a usable service name/);
  });
});
