import { readFileSync } from 'node:fs';
import { ConfigError } from '@tessera/config';
import { parse as parseYaml } from 'yaml';
import type { Policy } from './domain/terms.js';

/** The terms of service in force: what GET /terms shows and what users must accept. */
export type TermsDocument = {
  policies: readonly Policy[];
  /** The `policies` object of GET /terms, as JSON text: `{<id>: {version, <lang>: {name, url}}}`. */
  policiesJson: string;
};

/** No terms file: no policies, so every user has accepted everything. */
export const NO_TERMS: TermsDocument = { policies: [], policiesJson: '{}' };

export class TermsFileInvalid extends Error {
  override readonly name = 'TermsFileInvalid';
}

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/**
 * Sydent's terms.yaml: `master_version`, then `docs: {<policyId>: {version, langs: {<lang>: {name,
 * url}}}}`. Keys Sydent ignores are ignored here too. Every scalar is read as text (the YAML
 * failsafe schema), so `version: 1.0` stays "1.0" rather than becoming the number 1.
 */
export function parseTerms(text: string): TermsDocument {
  let root: unknown;
  try {
    root = parseYaml(text, { schema: 'failsafe' });
  } catch (err) {
    throw new TermsFileInvalid(`not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isMapping(root)) throw new TermsFileInvalid('must be a mapping with master_version and docs');
  const docs = root.docs ?? {};
  if (!isMapping(docs)) throw new TermsFileInvalid('docs must be a mapping of policy ids');
  const policies: Policy[] = [];
  const shown: [string, Mapping][] = [];
  for (const [id, doc] of Object.entries(docs)) {
    const where = `docs.${id}`;
    if (!isMapping(doc)) throw new TermsFileInvalid(`${where} must be a mapping with version and langs`);
    if (!isText(doc.version)) throw new TermsFileInvalid(`${where}.version must be a non-empty string`);
    if (!isMapping(doc.langs) || Object.keys(doc.langs).length === 0)
      throw new TermsFileInvalid(`${where}.langs must map at least one language to {name, url}`);
    const languages: [string, { name: string; url: string }][] = [];
    for (const [lang, entry] of Object.entries(doc.langs)) {
      // GET /terms puts the languages next to `version`, so no language may be called that.
      if (lang === 'version') throw new TermsFileInvalid(`${where}.langs may not have a language named "version"`);
      if (!isMapping(entry) || !isText(entry.name) || !isText(entry.url))
        throw new TermsFileInvalid(`${where}.langs.${lang} must have a name and a url`);
      languages.push([lang, { name: entry.name, url: entry.url }]);
    }
    policies.push({ id, version: doc.version, urls: languages.map(([, { url }]) => url) });
    // fromEntries defines own properties, so an id such as "__proto__" stays an ordinary key.
    shown.push([id, Object.fromEntries([['version', doc.version], ...languages])]);
  }
  return { policies, policiesJson: JSON.stringify(Object.fromEntries(shown)) };
}

/** TESSERA_TERMS_FILE, read once at start: unset means no terms; a bad file stops the service. */
export function readTermsFile(file: string | undefined): TermsDocument {
  if (file === undefined) return NO_TERMS;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`TESSERA_TERMS_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return parseTerms(text);
  } catch (err) {
    if (err instanceof TermsFileInvalid) throw new ConfigError(`TESSERA_TERMS_FILE: ${file}: ${err.message}`);
    throw err;
  }
}
