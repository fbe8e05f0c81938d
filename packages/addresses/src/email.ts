import { domainToASCII } from 'node:url';
import { TesseraError } from '@tessera/errors';
import { caseFold } from './case-fold.js';

// RFC 5321 §4.5.3.1: a path holds at most 256 octets including its angle brackets, a local part 64,
// a domain label 63; a domain name is at most 253 octets in its ASCII (A-label) form.
const MAX_ADDRESS_OCTETS = 254;
const MAX_LOCAL_OCTETS = 64;
const MAX_DOMAIN_OCTETS = 253;
const MAX_LABEL_OCTETS = 63;

// A dot-atom local part (RFC 5322 atext) widened to Unicode letters, marks and digits as RFC 6531
// (internationalised email) allows. Quoted local parts ("a b"@c.d) are not accepted: nobody needs
// them for a 3PID, and they would let one mailbox be written in several ways.
const ATOM = String.raw`[a-z0-9!#$%&'*+/=?^_\x60{|}~\-\p{L}\p{M}\p{Nd}]+`;
const LOCAL_PART = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`, 'u');
// A host-name label: letters and digits (Unicode ones for IDN), hyphens inside only.
const LABEL = /^[\p{L}\p{M}\p{Nd}](?:[\p{L}\p{M}\p{Nd}-]*[\p{L}\p{M}\p{Nd}])?$/u;
const DIGITS = /^[0-9]+$/;

const octets = (text: string): number => Buffer.byteLength(text, 'utf8');
// Messages name the rule, never the address: they reach the client and may reach a log.
const invalid = (reason: string): TesseraError => new TesseraError('M_INVALID_EMAIL', reason);

/**
 * Checks that `input` is a plain `local@domain` email address and returns it in the form used
 * everywhere an address is stored, hashed, compared or looked up: the whole address full-case-folded
 * (`Strauß@Example.COM` → `strauss@example.com`). Throws M_INVALID_EMAIL otherwise.
 *
 * The rules are checked on the folded form, so a normalised address is always accepted again
 * unchanged (the session service re-checks what the gateway normalised). Accepted: dot-atom local
 * parts, Unicode letters in either part (IDN domains are kept as written, not converted to
 * `xn--`, because clients hash the address as the user typed it, folded). Refused: display
 * names, `<>`, `mailto:`, whitespace, control characters, quoted local parts, IP-literal domains
 * (`a@[192.0.2.1]`), dotless domains (`a@localhost`) and numeric top-level labels (`a@1.2.3.4`).
 */
export function normalizeEmail(input: string): string {
  if (typeof input !== 'string') throw invalid('email address must be a string');
  // Folding never makes the UTF-8 form shorter than the input's UTF-16 length, so this early
  // refusal agrees with the octet limit below; it only bounds the work on hostile input.
  if (input.length > MAX_ADDRESS_OCTETS) throw invalid('email address is too long');
  const address = caseFold(input);
  if (octets(address) > MAX_ADDRESS_OCTETS) throw invalid('email address is too long');

  const at = address.lastIndexOf('@');
  const localPart = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (at < 0 || !LOCAL_PART.test(localPart)) throw invalid('not a plain local@domain email address');
  if (octets(localPart) > MAX_LOCAL_OCTETS) throw invalid('email local part is too long');
  if (!isDomainName(domain)) throw invalid('email domain is not a valid domain name');
  return address;
}

// The domain check costs more than all the address's other checks together (Node's IDNA
// conversion above all), and domains repeat: a bulk lookup of a contact list names a handful. It
// depends on the domain alone, so its verdicts are remembered, a bounded number of them (all
// forgotten at once when full: an attacker's many domains cost memory only up to the bound).
const MAX_REMEMBERED_DOMAINS = 4096;
const domainVerdicts = new Map<string, boolean>();

function isDomainName(domain: string): boolean {
  const known = domainVerdicts.get(domain);
  if (known !== undefined) return known;
  const verdict = checkDomainName(domain);
  if (domainVerdicts.size >= MAX_REMEMBERED_DOMAINS) domainVerdicts.clear();
  domainVerdicts.set(domain, verdict);
  return verdict;
}

function checkDomainName(domain: string): boolean {
  const labels = domain.split('.');
  const topLevel = labels.at(-1) ?? '';
  if (labels.length < 2 || DIGITS.test(topLevel) || !labels.every((label) => LABEL.test(label))) return false;
  // Node's IDNA (UTS #46) conversion refuses what DNS cannot carry (bad Punycode, disallowed code
  // points); the length limits apply to the ASCII form that DNS sees.
  const ascii = domainToASCII(domain);
  if (ascii === '' || ascii.length > MAX_DOMAIN_OCTETS) return false;
  return ascii.split('.').every((label) => label.length <= MAX_LABEL_OCTETS);
}
