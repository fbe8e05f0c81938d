export {
  type CertificateUsage,
  createCa,
  type IssueOptions,
  issueCertificate,
  type PemPair,
} from './certificates.js';
export { type DevPkiFiles, ensureDevPki, type ServiceCertificateFiles } from './dev-pki.js';
