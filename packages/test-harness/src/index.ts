export { captureLogs, type LogLine } from './captured-log.js';
export { deciderSpec, type ExpectedError, type Given, type SpecifiedDecider, type When } from './decider-spec.js';
export {
  type FakeHomeserver,
  type FakeHomeserverOptions,
  type KeyServerSetup,
  type OnbindCall,
  type RecordedRequest,
  type RequestToSign,
  type SignedPost,
  startFakeHomeserver,
} from './fake-homeserver.js';
export { startNats, type TestNats, type TestNatsOptions } from './nats.js';
export {
  appendProbe,
  connectAsIdentity,
  connectOutcome,
  consumeProbe,
  directGetBySeqProbe,
  directGetProbe,
  kvCreateProbe,
  kvGetProbe,
  kvPurgeProbe,
  messageDeleteProbe,
  type Outcome,
  outcomeOf,
  streamCreateProbe,
  streamDeleteProbe,
  streamInfoProbe,
  streamPurgeProbe,
  streamUpdateProbe,
  subscribeProbe,
} from './nats-probes.js';
export { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';
export { pollUntil } from './poll-until.js';
export { startPostgres, type TestPostgres, type TestPostgresOptions } from './postgres.js';
export { type Exited, runToExit } from './run-to-exit.js';
export { type ReceivedMail, startSmtpServer, type TestSmtpOptions, type TestSmtpServer } from './smtp.js';
export { startTcpRelay, type TcpRelay, waitUntil } from './tcp-relay.js';
