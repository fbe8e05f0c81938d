import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AT, type Note, type Notes, notes, uniqueId } from '../test-support/fixtures.js';
import { type NatsFixture, natsWithStreams } from '../test-support/nats-fixture.js';
import { ConcurrencyConflict } from './errors.js';
import { EventStore } from './event-store.js';
import { type ConflictRetry, handleCommand, type LoadedState } from './handle-command.js';
import { subjectOf } from './subjects.js';

const correlationId = 'test-correlation';

/** An EventStore that counts its loads. */
class CountingStore extends EventStore {
  loads = 0;
  override load(subject: string) {
    this.loads++;
    return super.load(subject);
  }
}

describe('handleCommand on a real nats-server', () => {
  let fx: NatsFixture;
  let store: CountingStore;
  const newSubject = () => subjectOf('key', uniqueId('ed25519:k'));
  // Records the pauses instead of taking them, so a test sees when they come.
  const recordedRetry = (log: string[]): ConflictRetry => ({
    decisions: 3,
    backoff: async (retry) => {
      log.push(`backoff ${retry}`);
    },
  });
  // A rival decision lands while this one is being prepared: its append then conflicts.
  const rivalNote = async (subject: string) => {
    const { lastSeq } = await store.load(subject);
    await store.append(subject, [notes.codec.toStoredEvent({ type: 'Noted', data: { note: 'rival', at: AT } })], {
      expectedSeq: lastSeq,
      correlationId,
    });
  };

  before(async () => {
    fx = await natsWithStreams();
    store = new CountingStore(fx.nc);
  });
  after(async () => fx?.close());

  it('lands every concurrent command, each decided on the full history before it', async () => {
    const subject = newSubject();
    const noteAfter =
      (name: string) =>
      async ({ state }: LoadedState<Notes>) => ({
        note: `${name} after ${state.notes.length}`,
      });
    const handled = await Promise.all(
      ['a', 'b', 'c'].map((name) => handleCommand(store, subject, notes, noteAfter(name), { correlationId })),
    );
    const { events, lastSeq } = await store.load(subject);
    assert.deepEqual(
      notes.stateOf(events).notes.map((note) => note.split(' after ')[1]),
      ['0', '1', '2'],
    );
    assert.equal(Math.max(...handled.map((h) => h.seq)), lastSeq);
  });

  it('answers with the decided events and the state after them, and appends nothing for an empty decision', async () => {
    const subject = newSubject();
    const first = await handleCommand(store, subject, notes, { note: 'one' }, { correlationId });
    assert.deepEqual(first.events, [{ type: 'Noted', data: { note: 'one', at: AT } }]);
    assert.deepEqual(first.state, { notes: ['one'] });
    const none = await handleCommand(store, subject, notes, { note: '' }, { correlationId });
    assert.deepEqual(none, { seq: first.seq, events: [], state: { notes: ['one'] } });
    assert.equal((await store.load(subject)).lastSeq, first.seq);
  });

  it('prepares the command again on the reloaded state after a conflict, pausing first, and decides on what it prepared', async () => {
    const subject = newSubject();
    const log: string[] = [];
    const prepare = async ({ state, seq }: LoadedState<Notes>): Promise<Note> => {
      log.push(`prepare on ${state.notes.length}`);
      if (seq === 0) await rivalNote(subject); // only the first time
      return { note: `after ${state.notes.join(',') || 'nothing'}` };
    };
    const decider = {
      ...notes,
      decide: (command: Note, state: Notes) => {
        log.push(`decide ${command.note} on ${state.notes.length}`);
        return notes.decide(command, state);
      },
    };
    const handled = await handleCommand(store, subject, decider, prepare, { correlationId, retry: recordedRetry(log) });
    assert.deepEqual(log, [
      'prepare on 0',
      'decide after nothing on 0',
      'backoff 1',
      'prepare on 1',
      'decide after rival on 1',
    ]);
    assert.deepEqual(handled.state, { notes: ['rival', 'after rival'] });
    assert.deepEqual(notes.stateOf((await store.load(subject)).events), handled.state);
  });

  it('gives up with ConcurrencyConflict after three decisions that all lost the race, pausing between them', async () => {
    const subject = newSubject();
    const log: string[] = [];
    const prepare = async ({ state }: LoadedState<Notes>) => {
      log.push(`decision on ${state.notes.length}`);
      await rivalNote(subject);
      return { note: 'mine' };
    };
    await assert.rejects(
      handleCommand(store, subject, notes, prepare, { correlationId, retry: recordedRetry(log) }),
      ConcurrencyConflict,
    );
    assert.deepEqual(log, ['decision on 0', 'backoff 1', 'decision on 1', 'backoff 2', 'decision on 2']);
    assert.deepEqual(notes.stateOf((await store.load(subject)).events).notes, ['rival', 'rival', 'rival']);
  });

  it('passes a refusal of decide on at once: nothing appended, nothing retried', async () => {
    const subject = newSubject();
    const refused = new Error('refused');
    let decisions = 0;
    const refusing = {
      ...notes,
      decide: () => {
        decisions++;
        throw refused;
      },
    };
    await assert.rejects(handleCommand(store, subject, refusing, { note: 'x' }, { correlationId }), refused);
    assert.equal(decisions, 1);
    assert.equal((await store.load(subject)).lastSeq, 0);
  });

  it('decides on an assumed state without loading, and loads at once, with no pause, when it was wrong', async () => {
    const subject = newSubject();
    const log: string[] = [];
    const fresh = { state: notes.initial(), seq: 0 };
    const loadsBefore = store.loads;
    const first = await handleCommand(store, subject, notes, { note: 'one' }, { correlationId, assume: fresh });
    assert.equal(store.loads, loadsBefore, 'a right belief needs no load');

    const second = await handleCommand(
      store,
      subject,
      notes,
      { note: 'two' },
      {
        correlationId,
        assume: fresh, // wrong now: 'one' is there
        retry: recordedRetry(log),
      },
    );
    assert.equal(store.loads, loadsBefore + 1);
    assert.deepEqual(log, []);
    assert.deepEqual(second.state, { notes: ['one', 'two'] });
    assert.ok(second.seq > first.seq);
  });
});
