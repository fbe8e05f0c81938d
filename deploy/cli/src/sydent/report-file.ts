import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import type { ReportLine } from './plan-report.js';

const FILE_MODE = 0o600;
const FLUSH_AT = 64 * 1024;

/**
 * `--report <file>`: every row left out, noticed or refused, one JSON object a line, where the
 * terminal shows only the first examples of each reason. 0600: the rows name addresses and users.
 */
export class ReportFile {
  readonly #fd: number;
  #buffer = '';

  constructor(file: string) {
    this.#fd = openSync(file, 'w', FILE_MODE);
    fchmodSync(this.#fd, FILE_MODE); // a file that was there keeps its mode otherwise
  }

  readonly write = (line: ReportLine): void => {
    this.#buffer += `${JSON.stringify(line)}\n`;
    if (this.#buffer.length >= FLUSH_AT) this.#flush();
  };

  close(): void {
    this.#flush();
    closeSync(this.#fd);
  }

  #flush(): void {
    const bytes = Buffer.from(this.#buffer);
    this.#buffer = '';
    for (let written = 0; written < bytes.length; )
      written += writeSync(this.#fd, bytes, written, bytes.length - written);
  }
}
