import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { smtpFailure } from './smtp-failure.js';

describe('smtpFailure', () => {
  it('counts a 5xx reply as refused and names the code and command, not the reply text', () => {
    const err = Object.assign(new Error("Can't send mail - all recipients were rejected: 550 <bob@example.org>: no"), {
      code: 'EENVELOPE',
      responseCode: 550,
      command: 'RCPT TO',
      response: '550 <bob@example.org>: recipient rejected',
    });
    const outcome = smtpFailure(err);
    assert.deepEqual(outcome, { sent: false, refused: true, reason: 'the mail server answered 550 at RCPT TO' });
  });

  it('counts a 4xx reply as not refused: the server may take it later', () => {
    assert.equal(smtpFailure(Object.assign(new Error('busy'), { responseCode: 421, command: 'CONN' })).refused, false);
  });

  it('counts a connection failure as not refused and names its code only', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET', command: 'CONN' });
    assert.deepEqual(smtpFailure(err), {
      sent: false,
      refused: false,
      reason: 'the mail server could not be reached (ESOCKET at CONN)',
    });
  });

  it('leaves out a command it does not know', () => {
    const err = Object.assign(new Error('x'), { responseCode: 554, command: 'XCLIENT bob@example.org' });
    assert.equal(smtpFailure(err).reason, 'the mail server answered 554');
  });
});
