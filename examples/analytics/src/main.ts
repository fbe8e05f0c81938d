#!/usr/bin/env node
// Counts Tessera's events per type per hour, reading the stream as the analytics identity, and
// shows what that identity can read: every string field, none of them an address or a user ID.
import { parseArgs } from 'node:util';
import { formatTable, rowsOf } from './event-counts.js';
import { connectAsAnalytics, readWholeStream } from './read-stream.js';
import { addEnvelope, emptyReport } from './report.js';

const USAGE = `usage: tessera-analytics [--nats-url URL] [--credentials FILE] [--json]
  --nats-url      the NATS server (default: TESSERA_NATS_URL)
  --credentials   the analytics identity's nkey seed or .creds file (default: TESSERA_NATS_CREDENTIALS_FILE)
  --json          one JSON object instead of the table`;

async function main(): Promise<number> {
  let values: { 'nats-url'?: string; credentials?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        'nats-url': { type: 'string' },
        credentials: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const url = values['nats-url'] ?? process.env.TESSERA_NATS_URL;
  const credentials = values.credentials ?? process.env.TESSERA_NATS_CREDENTIALS_FILE;
  if (url === undefined || credentials === undefined) {
    console.error(`the NATS URL and the analytics credentials are both required\n${USAGE}`);
    return 64;
  }

  const nc = await connectAsAnalytics(url, credentials);
  const report = emptyReport();
  try {
    for await (const { seq, envelope } of readWholeStream(nc)) addEnvelope(report, seq, envelope);
  } finally {
    await nc.close();
  }

  if (values.json) {
    console.log(
      JSON.stringify({
        messages: report.messages,
        events: report.events,
        counts: rowsOf(report.counts),
        stringFields: [...report.stringFields].sort(),
        identifiers: report.identifiers,
      }),
    );
  } else {
    console.log(`${report.events.toLocaleString('en')} events in ${report.messages.toLocaleString('en')} messages\n`);
    console.log(formatTable(report.counts));
    console.log(
      `\n${report.stringFields.size} string fields readable; ` +
        `${report.identifiers.length} of their values look like an email address, a phone number or a Matrix user ID`,
    );
    for (const { kind, field, seq } of report.identifiers) console.log(`  ${kind} in ${field} (message ${seq})`);
  }
  return report.identifiers.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`tessera-analytics: ${err.message}`);
    process.exitCode = 1;
  },
);
