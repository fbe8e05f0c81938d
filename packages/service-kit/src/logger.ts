import { currentCorrelationId } from '@tessera/correlation';
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

// Field names that may hold a 3PID, a Matrix user ID, a token, a client secret or key material.
// Logging code should never pass them; redaction is the net under that rule, not the rule.
const SECRET_FIELDS = [
  'address',
  'userId',
  'user_id',
  'mxid',
  'email',
  'phone_number',
  'msisdn',
  'token',
  'access_token',
  'client_secret',
  'clientSecret',
  'private_key',
  'privateKey',
  'seed',
  'password',
  'authorization',
];
const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  'req.headers.authorization',
  'headers.authorization',
];

/** Structured JSON logs on stdout, one object a line, tagged with the service's name. */
export function createLogger(service: string, level = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
    // Every line written while a request or an event is being worked on names it, in every service.
    mixin: correlationMixin,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

// A new object every time: pino merges the line's own fields into what the mixin returns.
function correlationMixin(): { correlationId?: string } {
  const correlationId = currentCorrelationId();
  return correlationId === undefined ? {} : { correlationId };
}
