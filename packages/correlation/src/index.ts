export {
  CORRELATION_METADATA_KEY,
  correlationIdForNow,
  currentCorrelationId,
  isCorrelationId,
  newCorrelationId,
  withCorrelation,
} from './correlation.js';
