import { readFileSync, statSync } from 'node:fs';
import type { Logger } from './logger.js';

export type Clock = () => Date;

/**
 * The service's clock: real time, plus (testing only) the milliseconds written in
 * TESSERA_CLOCK_OFFSET_FILE, so a test can move a running system a day ahead. The file is looked
 * at on every call but read again only when its mtime or size changed; a missing file is 0.
 */
export function createClock(offsetFile: string | undefined, log: Logger, realNow: () => number = Date.now): Clock {
  if (offsetFile === undefined) return () => new Date(realNow());
  log.warn({ offsetFile }, 'test clock in use: TESSERA_CLOCK_OFFSET_FILE moves time; never set it in production');
  let seen = '';
  let offsetMs = 0;
  return () => {
    const version = versionOf(offsetFile);
    if (version !== seen) {
      seen = version;
      offsetMs = version === '' ? 0 : readOffset(offsetFile, log);
    }
    return new Date(realNow() + offsetMs);
  };
}

function versionOf(file: string): string {
  const stats = statSync(file, { bigint: true, throwIfNoEntry: false });
  return stats === undefined ? '' : `${stats.mtimeNs}:${stats.size}:${stats.ino}`;
}

function readOffset(file: string, log: Logger): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return 0; // removed between stat and read: no offset
  }
  const offset = Number(text);
  if (text === '' || !Number.isSafeInteger(offset)) {
    log.warn({ offsetFile: file }, 'TESSERA_CLOCK_OFFSET_FILE holds no whole number of milliseconds; using 0');
    return 0;
  }
  return offset;
}
