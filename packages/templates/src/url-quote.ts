// Percent-encoding as Python's urllib.parse.quote does it with its default `safe="/"`: Jinja's
// `urlencode` filter and Sydent's `<name>_forurl` variants both come from it, so operators'
// Sydent templates produce the same links here. It differs from encodeURIComponent in two ways:
// `/` is kept, and `!'()*` are encoded (a `'` left as it is would also be HTML-escaped by
// autoescape, breaking a link in a text part).

const ENCODED_BY_PYTHON = /[!'()*]/g;

export function urlQuote(value: string): string {
  return encodeURIComponent(value)
    .replace(ENCODED_BY_PYTHON, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replaceAll('%2F', '/');
}
