import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addEvent, formatTable, type HourlyCounts, hourOf, rowsOf } from './event-counts.js';

describe('counts per event type per hour', () => {
  it('puts an event in its UTC hour', () => {
    assert.equal(hourOf(new Date('2026-12-04T05:59:59.999Z')), '2026-12-04 05:00');
    assert.equal(hourOf(new Date('2026-12-04T06:00:00.000Z')), '2026-12-04 06:00');
  });

  it('counts each type within each hour, hours in order and types by name', () => {
    const counts: HourlyCounts = new Map();
    for (const [type, at] of [
      ['TokenIssued', '2026-12-04T06:10:00Z'],
      ['SessionStarted', '2026-12-04T06:10:00Z'],
      ['SessionStarted', '2026-12-04T05:10:00Z'],
      ['SessionStarted', '2026-12-04T06:50:00Z'],
    ] as const)
      addEvent(counts, { type, at: new Date(at) });
    assert.deepEqual(rowsOf(counts), [
      { hour: '2026-12-04 05:00', type: 'SessionStarted', count: 1 },
      { hour: '2026-12-04 06:00', type: 'SessionStarted', count: 2 },
      { hour: '2026-12-04 06:00', type: 'TokenIssued', count: 1 },
    ]);
    assert.deepEqual(formatTable(counts).split('\n'), [
      'hour (UTC)        event type        count',
      '2026-12-04 05:00  SessionStarted        1',
      '2026-12-04 06:00  SessionStarted        2',
      '2026-12-04 06:00  TokenIssued           1',
    ]);
  });
});
