import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXAMPLES_KEPT, PlanReport, type ReportLine } from './plan-report.js';
import { ReportFile } from './report-file.js';

describe('the full report of rows left out and noticed', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-report-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names every row, where the terminal keeps only the first examples of a reason', () => {
    const lines: ReportLine[] = [];
    const report = new PlanReport((line) => lines.push(line));
    const rows = EXAMPLES_KEPT + 5;
    for (let i = 0; i < rows; i++) report.leftOut.sessions.add('too old', `session ${i}`);
    report.notes.add('idle accounts', '3 accounts', 3);
    assert.equal(report.leftOut.sessions.entries()[0]?.[1].examples.length, EXAMPLES_KEPT);
    assert.equal(lines.length, rows + 1);
    assert.deepEqual(lines[rows - 1], {
      kind: 'left out',
      category: 'sessions',
      reason: 'too old',
      row: `session ${rows - 1}`,
    });
    assert.deepEqual(lines[rows], { kind: 'noticed', reason: 'idle accounts', row: '3 accounts', rows: 3 });
  });

  it('writes one JSON line per row to a 0600 file, replacing what was there', async () => {
    const file = join(dir, 'report.jsonl');
    await writeFile(file, 'x'.repeat(200_000), { mode: 0o644 });
    const out = new ReportFile(file);
    const count = 5_000; // more than one flush
    for (let i = 0; i < count; i++)
      out.write({ kind: 'left out', category: 'associations', reason: 'r', row: `row ${i}` });
    out.close();
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, count);
    assert.deepEqual(JSON.parse(lines[count - 1] as string), {
      kind: 'left out',
      category: 'associations',
      reason: 'r',
      row: `row ${count - 1}`,
    });
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });
});
