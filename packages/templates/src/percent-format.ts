import { escapeHtml } from './email-variables.js';

// Sydent reads verify_response_template.html with Python's `%` formatting, not Jinja: its pages
// say `%(message)s`, and `%%` for a literal percent sign. Such a file is recognised by that
// placeholder and rendered the same way, so operators' pages work unchanged.

const SYDENT_PLACEHOLDER = '%(message)s';

export function isPercentFormat(source: string): boolean {
  return source.includes(SYDENT_PLACEHOLDER);
}

/** `%(name)s` → the value, HTML-escaped (the page is HTML); `%%` → `%`; anything else is kept. */
export function renderPercentFormat(source: string, values: Readonly<Record<string, string>>): string {
  return source.replace(/%\(([A-Za-z_][A-Za-z0-9_]*)\)s|%%/g, (match, name: string | undefined) => {
    if (name === undefined) return '%';
    const value = values[name];
    return value === undefined ? match : escapeHtml(value);
  });
}
