import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import libmime from 'libmime';
import { parseMessage } from '../test-support/mime-fixture.js';
import { finishMessage, MalformedMessage, messageIdOf } from './finish-message.js';

describe('finishMessage', () => {
  it('makes every line end in CRLF and the message end in one', () => {
    const finished = finishMessage('Subject: hi\nX-A: 1\r\n\nline 1\rline 2');
    assert.equal(finished, 'Subject: hi\r\nX-A: 1\r\n\r\nline 1\r\nline 2\r\n');
    assert.ok(!/[^\r]\n/.test(finished));
  });

  it('drops blank lines before the first header, left by template tags', () => {
    assert.equal(finishMessage('\n  \nSubject: hi\n\nbody\n'), 'Subject: hi\r\n\r\nbody\r\n');
  });

  it('encodes a non-ASCII Subject and display name, unfolding them first', () => {
    const finished = finishMessage('From: Zoë <zoe@example.org>\nSubject: Bestätigen\n Sie\nDate: x\n\nGrüße\n');
    const { headers, body } = parseMessage(finished);
    assert.match(finished, /^[\x20-\x7e\r\n]*\r\n\r\n/);
    assert.equal(libmime.decodeWords(headers.get('subject') ?? ''), 'Bestätigen Sie');
    assert.equal(libmime.decodeWords(headers.get('from') ?? ''), 'Zoë <zoe@example.org>');
    assert.equal(body, 'Grüße\r\n', 'the body keeps its own encoding');
  });

  it('leaves ASCII headers, folding included, exactly as they were', () => {
    const head = 'Content-Type: multipart/alternative;\r\n\tboundary="b"\r\nSubject: plain';
    assert.ok(finishMessage(`${head}\r\n\r\nbody`).startsWith(`${head}\r\n\r\n`));
  });

  it('sends a text that does not start with a header field as it is, only its line endings made CRLF', () => {
    assert.equal(finishMessage('<<<Tok3n>>>\n'), '<<<Tok3n>>>\r\n');
    // No header field: a space in what precedes the colon; a leading blank line is kept as Sydent keeps it.
    assert.equal(finishMessage('Your code: Tök3n\nbye'), 'Your code: Tök3n\r\nbye\r\n');
    assert.equal(finishMessage('\n<<<Tok3n>>>'), '\r\n<<<Tok3n>>>\r\n');
    assert.equal(finishMessage('{\n\t"token": "t"\n}\n'), '{\r\n\t"token": "t"\r\n}\r\n');
  });

  it('refuses a message with no blank line after its headers', () => {
    assert.throws(() => finishMessage('Subject: hi\nno body'), MalformedMessage);
  });
});

describe('messageIdOf', () => {
  it('reads the Message-ID the headers carry, whatever its case or folding', () => {
    const message = finishMessage('Subject: hi\nmessage-ID:\n  <abc@example.org>\n\nBody\nMessage-ID: <not@header>\n');
    assert.equal(messageIdOf(message), '<abc@example.org>');
  });

  it('finds none in a message without one, or without headers at all', () => {
    assert.equal(messageIdOf(finishMessage('Subject: hi\n\nMessage-ID: <in@body>\n')), undefined);
    assert.equal(messageIdOf(finishMessage('<<<token>>>')), undefined);
  });
});
