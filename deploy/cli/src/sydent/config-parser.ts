// Sydent's configuration is read by Python's `configparser.ConfigParser()` (strict, with
// BasicInterpolation); this reads the same files the same way, so that a value means here what it
// meant to Sydent. Only what Sydent's files use: no custom delimiters, no inline comments (off by
// default in Python), no valueless options (off by default).

/** A file Python's ConfigParser would refuse, with the line it stops at. */
export class ConfigParserError extends Error {
  override readonly name = 'ConfigParserError';
}

const DEFAULT_SECTION = 'DEFAULT';
const MAX_INTERPOLATION_DEPTH = 10; // Python's MAX_INTERPOLATION_DEPTH
const SECTION_HEADER = /^\[(.+)\]$/; // Python's SECTCRE, matched on the stripped line
const OPTION_LINE = /^(.*?)\s*([=:])\s*(.*)$/; // Python's OPTCRE: the first `=` or `:` separates
const COMMENT_PREFIXES = ['#', ';'];

export interface ParsedConfig {
  /** The sections in file order, without DEFAULT. */
  readonly sections: readonly string[];
  /** The option names a section has (lower-cased), its own and DEFAULT's, in file order. */
  options(section: string): string[];
  /** The options written in DEFAULT. */
  defaultOptions(): string[];
  /** True when the option is in the section or in DEFAULT (`section` may be DEFAULT). */
  has(section: string, option: string): boolean;
  /**
   * The value as Python's `config.get(section, option)` answers it: `%(name)s` replaced by the
   * option `name` of the same section (or DEFAULT), `%%` by `%`; `raw` leaves it as written
   * (`config.get(..., raw=True)`). Undefined when neither the section nor DEFAULT has it.
   */
  get(section: string, option: string, options?: { raw?: boolean }): string | undefined;
}

/** Parses the text of an INI file as ConfigParser's `read_string` does (throws ConfigParserError). */
export function parseConfig(text: string): ParsedConfig {
  const defaults = new Map<string, string[]>();
  const sections = new Map<string, Map<string, string[]>>();
  const seen = new Set<string>(); // strict mode: a section or option twice is an error
  let current: Map<string, string[]> | undefined;
  let sectionName = '';
  let option: string | undefined;
  let indentLevel = 0;

  for (const [index, line] of text.split(/\r\n|\n|\r/).entries()) {
    const where = `line ${index + 1}`;
    const stripped = line.trim();
    if (stripped === '') {
      // An empty line inside a multi-line value belongs to it (trailing ones are trimmed at the end).
      if (current !== undefined && option !== undefined) current.get(option)?.push('');
      continue;
    }
    if (COMMENT_PREFIXES.some((prefix) => stripped.startsWith(prefix))) continue;
    const indent = line.length - line.trimStart().length;
    if (current !== undefined && option !== undefined && indent > indentLevel) {
      current.get(option)?.push(stripped); // a continuation line
      continue;
    }
    indentLevel = indent;
    const header = SECTION_HEADER.exec(stripped);
    if (header !== null) {
      sectionName = header[1] as string;
      if (sectionName !== DEFAULT_SECTION && seen.has(`[${sectionName}]`))
        throw new ConfigParserError(`${where}: section [${sectionName}] appears twice`);
      seen.add(`[${sectionName}]`);
      if (sectionName === DEFAULT_SECTION) current = defaults;
      else {
        current = sections.get(sectionName) ?? new Map();
        sections.set(sectionName, current);
      }
      option = undefined;
      continue;
    }
    if (current === undefined) throw new ConfigParserError(`${where}: no section header before the first option`);
    const match = OPTION_LINE.exec(stripped);
    const name = match?.[1]?.trimEnd().toLowerCase();
    if (match === null || name === undefined || name === '')
      throw new ConfigParserError(`${where}: expected "name = value" in [${sectionName}]`);
    if (seen.has(`${sectionName}\0${name}`))
      throw new ConfigParserError(`${where}: option ${name} appears twice in [${sectionName}]`);
    seen.add(`${sectionName}\0${name}`);
    option = name;
    current.set(name, [(match[3] as string).trim()]);
  }

  const joined = (lines: string[]) => lines.join('\n').trimEnd();
  const own = (section: string) => (section === DEFAULT_SECTION ? undefined : sections.get(section));
  const rawValue = (section: string, name: string): string | undefined => {
    const value = own(section)?.get(name) ?? defaults.get(name);
    return value === undefined ? undefined : joined(value);
  };
  const interpolate = (section: string, name: string, value: string, depth: number): string => {
    if (depth > MAX_INTERPOLATION_DEPTH)
      throw new ConfigParserError(`[${section}] ${name}: more than ${MAX_INTERPOLATION_DEPTH} nested %(…)s references`);
    let result = '';
    for (let at = 0; at < value.length; ) {
      const percent = value.indexOf('%', at);
      if (percent === -1) {
        result += value.slice(at);
        break;
      }
      result += value.slice(at, percent);
      const next = value[percent + 1];
      if (next === '%') {
        result += '%';
        at = percent + 2;
        continue;
      }
      const reference = next === '(' ? /^%\(([^)]*)\)s/.exec(value.slice(percent)) : null;
      if (reference === null)
        throw new ConfigParserError(`[${section}] ${name}: '%' must be followed by '%' or '(name)s' (write %% for %)`);
      const referenced = (reference[1] as string).toLowerCase();
      const replacement = rawValue(section, referenced);
      if (replacement === undefined)
        throw new ConfigParserError(`[${section}] ${name}: %(${referenced})s names no option of [${section}]`);
      result += interpolate(section, referenced, replacement, depth + 1);
      at = percent + reference[0].length;
    }
    return result;
  };

  return {
    sections: [...sections.keys()],
    options: (section) => [...new Set([...(own(section)?.keys() ?? []), ...defaults.keys()])],
    defaultOptions: () => [...defaults.keys()],
    has: (section, name) => rawValue(section, name.toLowerCase()) !== undefined,
    get(section, name, { raw = false } = {}) {
      const key = name.toLowerCase();
      const value = rawValue(section, key);
      return value === undefined || raw ? value : interpolate(section, key, value, 1);
    },
  };
}
