import { webcrypto } from 'node:crypto';
import { x509 } from './x509.js';

/** A certificate and its private key, both PEM (the key as PKCS#8). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

export type CertificateUsage = 'server' | 'client' | 'both';

export interface IssueOptions {
  commonName: string;
  dnsNames: string[];
  /** IPv4 or IPv6 literals for the SAN, e.g. '127.0.0.1'. */
  ipAddresses?: string[];
  usage: CertificateUsage;
  /** Default 825 (the longest validity clients commonly accept for a TLS server certificate). */
  days?: number;
}

const subtle = webcrypto.subtle;
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { ...EC_P256, hash: 'SHA-256' } as const;
// Tolerates a clock that runs a little behind the issuer's.
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/** A self-signed CA (ECDSA P-256) that may only sign end-entity certificates. */
export async function createCa({ commonName, days = 3650 }: { commonName: string; days?: number }): Promise<PemPair> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }],
    ...validity(days),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** An end-entity certificate signed by `ca`, with a fresh ECDSA P-256 key. */
export async function issueCertificate(ca: PemPair, options: IssueOptions): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = await newKeyPair();
  const names = [
    ...options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [options.commonName] }],
    issuer: caCert.subjectName,
    ...validity(options.days ?? 825),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(extendedKeyUsages(options.usage)),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

function extendedKeyUsages(usage: CertificateUsage): string[] {
  const { serverAuth, clientAuth } = x509.ExtendedKeyUsage;
  switch (usage) {
    case 'server':
      return [serverAuth];
    case 'client':
      return [clientAuth];
    case 'both':
      return [serverAuth, clientAuth];
  }
}

function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return subtle.generateKey(EC_P256, true, ['sign', 'verify']);
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  if (der === undefined) throw new Error('the CA key is not a PEM private key');
  return subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

/** 16 random bytes, top bit clear so the DER integer stays positive, never zero. */
function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}
