/** How one attempt to hand a message to a provider (SMTP server, SMS API) ended. Never throws past a channel. */
export type SendOutcome =
  | { sent: true; providerMessageId: string }
  /** `reason` is recorded in the stream and logged: it names no address, token or number. */
  | { sent: false; reason: string; refused: boolean };
