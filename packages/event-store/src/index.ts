export { type BucketOptions, bucketStreamOf, type EnsuredBucket, ensureBucket } from './buckets.js';
export { type ConnectNatsOptions, connectNats, inboxPrefixOf, redactUrl } from './connect.js';
export {
  type ConsumedMessage,
  type ConsumerHandler,
  type RetryLater,
  type RunConsumerOptions,
  type RunningConsumer,
  runConsumer,
} from './consumer.js';
export { type DataKeySource, DataKeys, type DataKeysOptions } from './data-keys.js';
export { type Decider, type StoredDecider, storedDecider } from './decider.js';
export { getLastForSubject, getNextForSubject, type StoredMessage } from './direct-get.js';
export {
  announcedEventTypes,
  decodeEnvelope,
  encodeEnvelope,
  eventTypesOf,
  HEADER,
  SCHEMA_VERSION,
} from './envelope.js';
export { asStoreError, ConcurrencyConflict, StoreUnavailable, storeFailuresUnavailable } from './errors.js';
export { type EventCodec, eventCodec, type TimedEvent } from './event-codec.js';
export { type AppendOptions, EventStore, type EventStoreOptions, type LoadedAggregate } from './event-store.js';
export { type EventPayload, type EventPayloadCase, eventTypeOf, newEvent } from './events.js';
export {
  type ConflictRetry,
  type HandleCommandOptions,
  type HandledCommand,
  handleCommand,
  type LoadedState,
  loadState,
  type PrepareCommand,
} from './handle-command.js';
export {
  DATA_KEY_BUCKET,
  DATA_KEY_BUCKET_OPTIONS,
  decodeDataKey,
  KvDataKeySource,
  kvKeyOf,
  openDataKeySource,
} from './kv-key-source.js';
export { type LogFn, type Logger, silentLogger } from './logger.js';
export { type DataKey, SealedValueInvalid } from './sealing.js';
export { desiredStreams, type EnsuredStream, ensureStreams, type StreamOptions, streamConfig } from './streams.js';
export {
  AGGREGATE_TYPES,
  type AggregateType,
  assertAggregateId,
  InvalidSubject,
  isAggregateType,
  type ParsedSubject,
  parseSubject,
  STREAM_OF_AGGREGATE,
  type StreamName,
  SUBJECT_PREFIX,
  streamOf,
  subjectOf,
  subjectsOfStream,
} from './subjects.js';
export { addTraceContext, traceContextOf } from './trace-headers.js';
