import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createCa, issueCertificate, type PemPair } from './certificates.js';

export interface ServiceCertificateFiles {
  certFile: string;
  keyFile: string;
}

export interface DevPkiFiles {
  dir: string;
  caCertFile: string;
  caKeyFile: string;
  services: Record<string, ServiceCertificateFiles>;
}

const KEY_MODE = 0o600;
const CERT_MODE = 0o644;
// Service names become file names: no separators, no dot files.
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Makes sure `dir` holds a CA (ca.pem, ca-key.pem) and, for each service, <service>.pem and
 * <service>-key.pem: usable as server and as client certificate, CN = the service name, SAN DNS =
 * the service name and localhost, SAN IP = 127.0.0.1. Existing files are kept; if the CA has to be
 * made anew, every service certificate is issued again, since the old ones would not verify.
 */
export async function ensureDevPki(
  dir: string,
  { services, caCommonName = 'Tessera development CA' }: { services: string[]; caCommonName?: string },
): Promise<DevPkiFiles> {
  for (const service of services) {
    if (!SERVICE_NAME.test(service)) throw new Error(`not a usable service name for a certificate file: ${service}`);
  }
  const root = resolve(dir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const caCertFile = join(root, 'ca.pem');
  const caKeyFile = join(root, 'ca-key.pem');

  let ca: PemPair;
  let caIsNew = false;
  if ((await exists(caCertFile)) && (await exists(caKeyFile))) {
    ca = { certPem: await readFile(caCertFile, 'utf8'), keyPem: await readFile(caKeyFile, 'utf8') };
  } else {
    ca = await createCa({ commonName: caCommonName });
    await writePair(ca, caCertFile, caKeyFile);
    caIsNew = true;
  }

  const files: Record<string, ServiceCertificateFiles> = {};
  for (const service of services) {
    const entry = { certFile: join(root, `${service}.pem`), keyFile: join(root, `${service}-key.pem`) };
    files[service] = entry;
    if (!caIsNew && (await exists(entry.certFile)) && (await exists(entry.keyFile))) continue;
    const issued = await issueCertificate(ca, {
      commonName: service,
      dnsNames: [...new Set([service, 'localhost'])],
      ipAddresses: ['127.0.0.1'],
      usage: 'both',
    });
    await writePair(issued, entry.certFile, entry.keyFile);
  }
  return { dir: root, caCertFile, caKeyFile, services: files };
}

async function writePair(pair: PemPair, certFile: string, keyFile: string): Promise<void> {
  await writeFile(keyFile, pair.keyPem, { mode: KEY_MODE });
  await chmod(keyFile, KEY_MODE); // an existing file keeps its mode on writeFile; the umask may also interfere
  await writeFile(certFile, pair.certPem, { mode: CERT_MODE });
  await chmod(certFile, CERT_MODE);
}

function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}
