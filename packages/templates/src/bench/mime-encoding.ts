// The hand-written quoted-printable and RFC 2047 encoders against libmime's (libqp for bodies,
// libmime for encoded-words) on the notifier's real workload: the shipped validation mail.
// Run on demand: `pnpm build && pnpm --filter @tessera/templates bench [iterations]`.
// Prints a table: microseconds per call, and each encoder's share of rendering a whole mail.
import libmime from 'libmime';
import * as libqp from 'libqp';
import { createTemplates } from '../create-templates.js';
import { encodeHeaderText, isPlainHeaderText } from '../mime-header.js';
import { encodeQuotedPrintable } from '../quoted-printable.js';

const iterations = Number(process.argv[2] ?? 20_000);
const LINK =
  'https://id.example.org/_matrix/identity/api/v2/validate/email/submitToken?token=Xq3kWm9pLr2TbN8vZc1yHs4f&client_secret=Gy7hJk2mNp4qRs6tUv8wXy0zAb3cDe5f&sid=Tg5hJ7kL9mN1pQ3r';
const templates = createTemplates({ defaultBrand: 'tessera' });
const renderMail = () =>
  templates.renderVerificationEmail(undefined, {
    to: 'alice.liddell@example.org',
    from: 'Example Identity <noreply@id.example.org>',
    token: 'Xq3kWm9pLr2TbN8vZc1yHs4f',
    link: LINK,
    ipaddress: '2001:db8:85a3::8a2e:370:7334',
  });

// The two body parts as the shipped template hands them to the filter: its rendered text
// before encoding (decoded back from one real mail, so the input is exactly the real one).
const sample = renderMail();
const boundary = /boundary="([^"]+)"/.exec(sample)?.[1] ?? '';
const parts = sample
  .split(`--${boundary}`)
  .slice(1, 3)
  .map((part) => libqp.decode(part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '')).toString('utf8'));
const [textPart = '', htmlPart = ''] = parts;

const viaLibqp = (text: string) => libqp.wrap(libqp.encode(text.replace(/\r\n|\r|\n/g, '\r\n')), 76);
// What mime-header.ts would do with libmime: plain text as it is, else 36-byte encoded-words, one a line.
const viaLibmime = (value: string) =>
  isPlainHeaderText(value) ? value : libmime.encodeWord(value, 'B', 60).replaceAll(' ', '\r\n ');

const ROUNDS = 7;
const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

function microseconds(run: () => unknown): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - start) / 1_000 / iterations;
}

/** Each candidate's median over ROUNDS rounds, the candidates taking turns: the machine's drift hits all alike. */
function medians(candidates: (() => unknown)[]): number[] {
  for (const run of candidates) for (let i = 0; i < 2_000; i++) run(); // warm up
  const times = candidates.map((): number[] => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, run] of candidates.entries()) times[i]?.push(microseconds(run));
  }
  return times.map(median);
}

type Row = {
  workload: string;
  chars: number;
  'hand-written µs': number;
  'library µs': number;
  'library / hand': number;
  'hand % of a mail': number;
  'library % of a mail': number;
};
const rows: Row[] = [];
function compare(workload: string, input: string, hand: (s: string) => string, library: (s: string) => string) {
  const [handUs = 0, libraryUs = 0, mailUs = 1] = medians([() => hand(input), () => library(input), renderMail]);
  rows.push({
    workload,
    chars: input.length,
    'hand-written µs': round(handUs),
    'library µs': round(libraryUs),
    'library / hand': round(libraryUs / handUs, 1),
    'hand % of a mail': round((100 * handUs) / mailUs, 1),
    'library % of a mail': round((100 * libraryUs) / mailUs, 1),
  });
}

compare('QP: the text part', textPart, encodeQuotedPrintable, viaLibqp);
compare('QP: the HTML part', htmlPart, encodeQuotedPrintable, viaLibqp);
compare('header: ASCII Subject (shipped)', 'Confirm your email address', encodeHeaderText, viaLibmime);
compare('header: German Subject', 'Bestätigen Sie Ihre E-Mail-Adresse', encodeHeaderText, viaLibmime);
compare('header: display name', 'Zoë Müller', encodeHeaderText, viaLibmime);

console.log(`${iterations} calls a round, median of ${ROUNDS} rounds; a mail: the shipped template rendered whole`);
console.table(rows);
