import type { PeerCertificate } from 'node:tls';

/** The names in the caller's verified client certificate: its CN and DNS subject alternative names. */
export function peerCertificateNames(call: {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | undefined;
}): string[] {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert || Object.keys(cert).length === 0) return [];
  const names = new Set<string>();
  const cn = cert.subject?.CN;
  for (const value of Array.isArray(cn) ? cn : [cn]) if (value) names.add(value);
  for (const entry of (cert.subjectaltname ?? '').split(',')) {
    const match = /^\s*DNS:(.+)$/.exec(entry);
    if (match?.[1]) names.add(match[1].trim());
  }
  return [...names];
}
