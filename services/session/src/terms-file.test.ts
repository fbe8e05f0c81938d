import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '@tessera/config';
import { NO_TERMS, parseTerms, readTermsFile, TermsFileInvalid } from './terms-file.js';

// Sydent's terms.sample.yaml layout.
const SYDENT_SAMPLE = `
master_version: "someversion"
docs:
  terms_of_service:
    version: "5.0"
    langs:
      en:
        name: "Terms of Service"
        url: "https://example.org/somewhere/terms-5.0-en.html"
      fr:
        name: "Conditions d'utilisation"
        url: "https://example.org/somewhere/terms-5.0-fr.html"
  privacy_policy:
    version: 1.0
    langs:
      en:
        name: "Privacy Policy"
        url: "https://example.org/somewhere/privacy-1.0-en.html"
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-terms-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the terms file', () => {
  it("turns Sydent's terms.yaml into the policies of GET /terms", () => {
    const { policiesJson } = parseTerms(SYDENT_SAMPLE);
    assert.deepEqual(JSON.parse(policiesJson), {
      terms_of_service: {
        version: '5.0',
        en: { name: 'Terms of Service', url: 'https://example.org/somewhere/terms-5.0-en.html' },
        fr: { name: "Conditions d'utilisation", url: 'https://example.org/somewhere/terms-5.0-fr.html' },
      },
      privacy_policy: {
        version: '1.0',
        en: { name: 'Privacy Policy', url: 'https://example.org/somewhere/privacy-1.0-en.html' },
      },
    });
  });

  it('lists each policy with its version and every language URL', () =>
    assert.deepEqual(parseTerms(SYDENT_SAMPLE).policies, [
      {
        id: 'terms_of_service',
        version: '5.0',
        urls: ['https://example.org/somewhere/terms-5.0-en.html', 'https://example.org/somewhere/terms-5.0-fr.html'],
      },
      { id: 'privacy_policy', version: '1.0', urls: ['https://example.org/somewhere/privacy-1.0-en.html'] },
    ]));

  it('keeps an unquoted version such as 1.0 as written', () =>
    assert.equal(parseTerms(SYDENT_SAMPLE).policies[1]?.version, '1.0'));

  it('has no policies when the file has no docs', () =>
    assert.deepEqual(parseTerms('master_version: "1"\n'), { policies: [], policiesJson: '{}' }));

  it('has no policies when TESSERA_TERMS_FILE is unset', () => assert.equal(readTermsFile(undefined), NO_TERMS));

  it('refuses malformed files, saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['docs: [a, b', /not YAML/],
      ['just text', /must be a mapping/],
      ['docs:\n  tos:\n    langs:\n      en: {name: a, url: b}\n', /docs\.tos\.version/],
      ['docs:\n  tos:\n    version: "1"\n', /docs\.tos\.langs/],
      ['docs:\n  tos:\n    version: "1"\n    langs:\n      en: {name: a}\n', /docs\.tos\.langs\.en/],
      ['docs:\n  tos:\n    version: "1"\n    langs:\n      version: {name: a, url: b}\n', /"version"/],
    ];
    for (const [text, reason] of cases)
      assert.throws(
        () => parseTerms(text),
        (err: unknown) => err instanceof TermsFileInvalid && reason.test(err.message),
        text,
      );
  });

  it('stops the service with a ConfigError naming TESSERA_TERMS_FILE for a malformed file', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'docs:\n  tos: "no version"\n');
    assert.throws(
      () => readTermsFile(file),
      (err: unknown) => err instanceof ConfigError && err.message.startsWith('TESSERA_TERMS_FILE:'),
    );
  });

  it('stops the service with a ConfigError naming TESSERA_TERMS_FILE for a missing file', () =>
    assert.throws(
      () => readTermsFile(join(dir, 'missing.yaml')),
      (err: unknown) => err instanceof ConfigError && err.message.startsWith('TESSERA_TERMS_FILE:'),
    ));

  it('reads a good file', async () => {
    const file = join(dir, 'terms.yaml');
    await writeFile(file, SYDENT_SAMPLE);
    assert.equal(readTermsFile(file).policies.length, 2);
  });
});
