// What the MIME encoders (libqp for quoted-printable bodies, libmime for RFC 2047 encoded-words)
// cost on the notifier's real workload, the shipped validation mail, against rendering it whole.
// They replaced hand-written encoders after this benchmark, then comparing both, found libmime
// no slower (bench/results/templates-mime-encoding.md).
// Run on demand: `pnpm build && pnpm --filter @tessera/templates bench [calls a round]`. Prints a table.
import { decode } from 'libqp';
import { createTemplates } from '../src/create-templates.js';
import { encodeHeaderText } from '../src/mime-header.js';
import { encodeQuotedPrintable } from '../src/quoted-printable.js';

const iterations = Number(process.argv[2] ?? 20_000);
const ROUNDS = 7;
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

// The two body parts as the shipped template hands them to the quoted_printable filter: decoded
// back from one real mail, so the input is exactly the real one.
const sample = renderMail();
const boundary = /boundary="([^"]+)"/.exec(sample)?.[1] ?? '';
const [textPart = '', htmlPart = ''] = sample
  .split(`--${boundary}`)
  .slice(1, 3)
  .map((part) => decode(part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '')).toString('utf8'));

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

type Row = { workload: string; chars: number; µs: number; '% of a mail': number };
const rows: Row[] = [];
function measure(workload: string, input: string, encode: (s: string) => string) {
  const [encodeUs = 0, mailUs = 1] = medians([() => encode(input), renderMail]);
  rows.push({ workload, chars: input.length, µs: round(encodeUs), '% of a mail': round((100 * encodeUs) / mailUs, 1) });
}

measure('QP: the text part', textPart, encodeQuotedPrintable);
measure('QP: the HTML part', htmlPart, encodeQuotedPrintable);
measure('header: ASCII Subject (shipped)', 'Confirm your email address', encodeHeaderText);
measure('header: German Subject', 'Bestätigen Sie Ihre E-Mail-Adresse', encodeHeaderText);
measure('header: display name', 'Zoë Müller', encodeHeaderText);
const [mailUs = 0] = medians([renderMail]);
rows.push({ workload: 'a whole mail (shipped template)', chars: sample.length, µs: round(mailUs), '% of a mail': 100 });

console.log(`${iterations} calls a round, median of ${ROUNDS} rounds`);
console.table(rows);
