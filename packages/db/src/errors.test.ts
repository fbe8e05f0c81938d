import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TemporarilyUnavailable } from '@tessera/errors';
import { asDatabaseError, DatabaseUnavailable } from './errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('asDatabaseError', () => {
  it('makes "unreachable or too slow right now" a DatabaseUnavailable, a TemporarilyUnavailable (503)', () => {
    for (const err of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('sorry, too many clients already', '53300'),
      withCode('canceling statement due to statement timeout', '57014'),
      withCode('connection failure', '08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      const mapped = asDatabaseError(err);
      assert.ok(mapped instanceof DatabaseUnavailable, err.message);
      assert.ok(mapped instanceof TemporarilyUnavailable);
      assert.equal((mapped as Error).cause, err);
    }
  });

  it('leaves a refusal as it is: a constraint, a syntax error, a missing table', () => {
    for (const err of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('syntax error at or near "selec"', '42601'),
      withCode('relation "nope" does not exist', '42P01'),
      new Error('no result'),
    ])
      assert.equal(asDatabaseError(err), err);
  });
});
