export { addEvent, formatTable, type HourlyCounts, hourOf, rowsOf } from './event-counts.js';
export { identifierKindOf, stringsOf } from './identifier-scan.js';
export { connectAsAnalytics, readWholeStream } from './read-stream.js';
export { addEnvelope, emptyReport, type StreamReport } from './report.js';
