import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { TesseraError } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import type { Binder, BindRequest, SignedBinding } from '../binder.js';
import { parseAdminThreepid } from './admin-input.js';

/** Lines signed in one SignJsonBatch call. */
const SIGN_BATCH = 1_000;
/** Appends (each a data-key create and a JetStream publish) in flight at once. */
const STORE_CONCURRENCY = 256;
/** Failing lines named in the answer; the count covers them all. */
const MAX_LISTED_FAILURES = 1_000;
const MAX_LINE_CHARS = 4_096;

export type ImportFailure = { line: number; errcode: string; error: string };
export type ImportSummary = {
  imported: number;
  failed: number;
  /** The first MAX_LISTED_FAILURES failing lines. */
  failures: ImportFailure[];
};

type Line = { line: number; request: BindRequest };

/**
 * Imports associations from JSON lines (`{"medium","address","mxid"}`, optional `ts` in ms), read
 * as they arrive: each line normalised as an admin bind is, signed a thousand at a time with one
 * SignJsonBatch call, appended (source IMPORT) with at most STORE_CONCURRENCY appends in flight,
 * and answered once the projector has applied the last of them (waiting as long as it keeps
 * applying). A bad line is counted and named, and the others go on; signing or the store being down
 * ends the import (it may be run again: a line imported twice is bound again, replacing the first
 * binding).
 */
export async function importAssociations(body: Readable, binder: Binder, log: Logger): Promise<ImportSummary> {
  const started = Date.now();
  const summary: ImportSummary = { imported: 0, failed: 0, failures: [] };
  const fail = (line: number, err: unknown) => {
    summary.failed++;
    if (summary.failures.length >= MAX_LISTED_FAILURES) return;
    const { errcode, error } =
      err instanceof TesseraError
        ? { errcode: err.errcode, error: err.message }
        : { errcode: 'M_UNKNOWN', error: 'not stored' };
    summary.failures.push({ line, errcode, error });
  };

  let lastSeq = 0;
  let fatal: unknown = null;
  const inFlight = new Set<Promise<void>>();
  const storeOne = (line: number, signed: SignedBinding) => {
    const stored = binder
      .store(signed, { fresh: true })
      .then(
        (seq) => {
          summary.imported++;
          if (seq > lastSeq) lastSeq = seq;
        },
        (err: unknown) => {
          if (err instanceof TesseraError) fail(line, err);
          else fatal ??= err;
        },
      )
      .finally(() => inFlight.delete(stored));
    inFlight.add(stored);
    return stored;
  };

  const flush = async (batch: Line[]) => {
    if (batch.length === 0) return;
    const signed = await binder.sign(batch.map(({ request }) => request));
    for (const [i, item] of batch.entries()) {
      while (inFlight.size >= STORE_CONCURRENCY) await Promise.race(inFlight);
      if (fatal !== null) throw fatal;
      void storeOne(item.line, signed[i] as SignedBinding);
    }
  };

  let batch: Line[] = [];
  let lineNumber = 0;
  const lines = createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const text of lines) {
    lineNumber++;
    if (text.trim() === '') continue;
    try {
      batch.push({ line: lineNumber, request: parseLine(text) });
    } catch (err) {
      fail(lineNumber, err);
      continue;
    }
    if (batch.length >= SIGN_BATCH) {
      await flush(batch);
      batch = [];
    }
  }
  await flush(batch);
  await Promise.all(inFlight);
  if (fatal !== null) throw fatal;
  const appendedMs = Date.now() - started;
  log.info({ appended: summary.imported, ms: appendedMs, lastSeq }, 'import appended; waiting for the projector');
  if (lastSeq > 0) await binder.visibleWhileApplying(lastSeq);
  log.info(
    { imported: summary.imported, failed: summary.failed, lines: lineNumber, appendedMs, ms: Date.now() - started },
    'associations imported',
  );
  return summary;
}

function parseLine(text: string): BindRequest {
  if (text.length > MAX_LINE_CHARS) throw new TesseraError('M_TOO_LARGE', 'line too long');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TesseraError('M_NOT_JSON', 'not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new TesseraError('M_BAD_JSON', 'each line must be a JSON object');
  const body = parsed as Record<string, unknown>;
  const threepid = parseAdminThreepid(body, { withMxid: true });
  const { ts } = body;
  if (ts !== undefined && !(typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0))
    throw new TesseraError('M_INVALID_PARAM', 'ts must be milliseconds since the epoch');
  return { ...threepid, source: 'import', ...(ts === undefined ? {} : { ts }) };
}
