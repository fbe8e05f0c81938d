import nunjucks from 'nunjucks';
import { encodeHeaderText } from './mime-header.js';
import { encodeQuotedPrintable } from './quoted-printable.js';
import { urlQuote } from './url-quote.js';

// Jinja's literals and slices (`True`, `None`, `items[1:]`) in operators' Sydent templates.
// It patches the nunjucks module, once per process.
nunjucks.installJinjaCompat();

/**
 * The nunjucks environment every template is compiled in. Autoescape is on for every file, the
 * `.eml.j2` ones included: that is what Sydent does, and its templates rely on it (`{{ link }}`
 * in the HTML part, `{{ link|safe }}` in headers and the text part). Includes resolve against the
 * templates directory, as Jinja's loader does in Sydent.
 *
 * Filters of our own, for header and body encoding:
 * - `mime_header`: a header value, RFC 2047-encoded when not ASCII: `Subject: {{ subject|mime_header }}`;
 * - `quoted_printable`: a whole body part, `{% filter quoted_printable %}…{% endfilter %}`, to go
 *   with `Content-Transfer-Encoding: quoted-printable`.
 * Their output is marked safe: it is header or transfer encoding, not HTML to be escaped again.
 *
 * `urlencode` on a string is Jinja's (urlQuote), so that a Sydent template's links come out as
 * Sydent's do; on anything else (a dict of query parameters) it is nunjucks' own.
 */
export function createEnvironment(dir: string): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir), {
    autoescape: true,
    throwOnUndefined: false, // an unknown variable renders as nothing, as in Jinja
  });
  const nunjucksUrlencode = env.getFilter('urlencode');
  env.addFilter('urlencode', (value: unknown) =>
    isScalar(value) ? urlQuote(String(value ?? '')) : nunjucksUrlencode(value),
  );
  env.addFilter('mime_header', (value: unknown) => safe(encodeHeaderText(String(value ?? ''))));
  env.addFilter('quoted_printable', (value: unknown) => safe(encodeQuotedPrintable(String(value ?? ''))));
  return env;
}

// A missing variable is '' as in Jinja; a `|safe` string is still a string.
function isScalar(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    typeof value === 'string' ||
    typeof value === 'number' ||
    value instanceof nunjucks.runtime.SafeString
  );
}

function safe(text: string): nunjucks.runtime.SafeString {
  return new nunjucks.runtime.SafeString(text);
}
