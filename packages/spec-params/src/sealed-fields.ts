/**
 * The names under which the session service seals the private fields of `session.<sid>`
 * (tessera.events.v1 SessionStarted and TokenIssued), and under which the notifier and the session
 * service open them again. Sealing binds each value to its aggregate and field name, so writer and
 * readers must use exactly these: they are part of the event contract, like the proto fields.
 */
export const SESSION_SEALED_FIELDS = {
  /** SessionStarted.address: the normalised address. */
  address: 'address',
  /** SessionStarted.next_link */
  nextLink: 'next_link',
  /** SessionStarted.client_lowercase_address: the typed address as matrix-js-sdk lower-cases it. */
  clientLowercaseAddress: 'client_lowercase_address',
  /** TokenIssued.token: the validation token, for the notifier to send. */
  token: 'token',
  /** TokenIssued.client_ip */
  clientIp: 'client_ip',
  /** TokenIssued.client_secret: the mail's link carries it back to GET submitToken. */
  clientSecret: 'client_secret',
} as const;

export type SessionSealedField = (typeof SESSION_SEALED_FIELDS)[keyof typeof SESSION_SEALED_FIELDS];
