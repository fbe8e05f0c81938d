import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigParserError, parseConfig } from './config-parser.js';

describe('parseConfig (Python ConfigParser semantics)', () => {
  it('gives every section the DEFAULT options it does not set itself', () => {
    const config = parseConfig(
      '[DEFAULT]\nlog.level = INFO\nserver.name =\n\n[general]\nserver.name = id.example.org\n',
    );
    assert.equal(config.get('general', 'server.name'), 'id.example.org');
    assert.equal(config.get('general', 'log.level'), 'INFO');
    assert.equal(config.get('email', 'log.level'), 'INFO', 'even a section the file lacks');
    assert.equal(config.get('general', 'missing'), undefined);
    assert.deepEqual(config.sections, ['general']);
    assert.deepEqual(config.options('general'), ['server.name', 'log.level']);
  });

  it('lower-cases option names, so bodyTemplate is bodytemplate', () => {
    const config = parseConfig('[sms]\nbodyTemplate = Your code is {token}\n');
    assert.equal(config.get('sms', 'bodytemplate'), 'Your code is {token}');
    assert.equal(config.get('sms', 'BODYTEMPLATE'), 'Your code is {token}');
    assert.deepEqual(config.options('sms'), ['bodytemplate']);
  });

  it('splits at the first = or :, and trims around it', () => {
    const config = parseConfig('[http]\nclient_http_base: https://id.example.org:8443/x=y\nport=8090\n');
    assert.equal(config.get('http', 'client_http_base'), 'https://id.example.org:8443/x=y');
    assert.equal(config.get('http', 'port'), '8090');
  });

  it('skips whole-line # and ; comments but keeps a # inside a value', () => {
    const config = parseConfig(
      '# top\n[email]\n; note\n  # indented comment\nemail.from = A <a@b.c> # not a comment\n',
    );
    assert.equal(config.get('email', 'email.from'), 'A <a@b.c> # not a comment');
  });

  it('joins indented continuation lines with newlines (the blocklists)', () => {
    const text = '[email]\nlist =\n\tcasino\n\n  # a comment inside\n\tcrypto giveaway\nnext = 1\n';
    const config = parseConfig(text);
    assert.equal(config.get('email', 'list'), '\ncasino\n\ncrypto giveaway');
    assert.equal(config.get('email', 'next'), '1');
  });

  it('interpolates %(name)s from the section or DEFAULT and %% as %, recursively', () => {
    const text = '[DEFAULT]\nhost = example.org\n[general]\nname = id.%(host)s\nurl = https://%(NAME)s/\npct = 100%%\n';
    const config = parseConfig(text);
    assert.equal(config.get('general', 'url'), 'https://id.example.org/');
    assert.equal(config.get('general', 'pct'), '100%');
    assert.equal(config.get('general', 'url', { raw: true }), 'https://%(NAME)s/');
  });

  it('refuses what ConfigParser refuses, naming the line or the option', () => {
    assert.throws(() => parseConfig('key = 1\n'), /line 1: no section header/);
    assert.throws(() => parseConfig('[a]\nx = 1\nx = 2\n'), /line 3: option x appears twice in \[a\]/);
    assert.throws(() => parseConfig('[a]\n[a]\n'), /section \[a\] appears twice/);
    assert.throws(() => parseConfig('[a]\njust words\n'), ConfigParserError);
    const config = parseConfig('[a]\nbad = 5%\nloop = %(loop)s\nmissing = %(nope)s\n');
    assert.throws(() => config.get('a', 'bad'), /'%' must be followed/);
    assert.throws(() => config.get('a', 'loop'), /nested/);
    assert.throws(() => config.get('a', 'missing'), /%\(nope\)s names no option/);
    assert.equal(config.get('a', 'bad', { raw: true }), '5%', 'raw reads never interpolate');
  });
});
