import { createCa, issueCertificate } from '@tessera/dev-pki';

export interface LocalhostTls {
  /** Trust this to accept the server's certificate. */
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A server certificate for localhost and 127.0.0.1, from a CA made for it alone. */
export async function localhostTls(caName: string): Promise<LocalhostTls> {
  const ca = await createCa({ commonName: caName });
  const cert = await issueCertificate(ca, {
    commonName: 'localhost',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  return { caPem: ca.certPem, ...cert };
}
