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

/**
 * The sealed fields of AssociationBound (tessera.assoc.<addr_key>), written by the directory and
 * opened by the projector, each with the binding's own data key (bindingDataKey).
 */
export const ASSOCIATION_SEALED_FIELDS = {
  /** AssociationBound.association: the signed association's canonical JSON. */
  association: 'association',
  /** AssociationBound.client_lowercase_address */
  clientLowercaseAddress: 'client_lowercase_address',
} as const;

/**
 * The data-key aggregate of one binding: `assoc.<addr_key>:<binding_id>`. A key per binding, not
 * per 3PID, so that a new binding is sealed with a fresh key while the old one is erased, and no
 * replica's cached key of an erased binding can seal a new one.
 */
export function bindingDataKey(addrKey: string, bindingId: string): string {
  return `assoc.${addrKey}:${bindingId}`;
}

/**
 * The sealed fields of the invite events (tessera.events.v1 invite.proto), each holding a
 * protobuf-encoded message of that file. InviteStored.secrets (InviteSecrets) under
 * inviteDataKey; InviteStored.mail (InviteMail) under inviteMailDataKey; OnbindRequested.call
 * (OnbindCall) under onbindDataKey.
 */
export const INVITE_SEALED_FIELDS = {
  secrets: 'secrets',
  mail: 'mail',
  call: 'call',
} as const;

/** `invite.<invite_id>`: what the invite needs for its whole life; erased when it is revoked. */
export function inviteDataKey(inviteId: string): string {
  return `invite.${inviteId}`;
}

/**
 * `invite.<invite_id>:mail`: the mail's variables, the ephemeral private key first; the notifier
 * erases it once the mail is sent or given up, so the key is never readable after that.
 */
export function inviteMailDataKey(inviteId: string): string {
  return `invite.${inviteId}:mail`;
}

/** `onbind.<onbind_id>`: the call's destination and body; erased once it is delivered or abandoned. */
export function onbindDataKey(onbindId: string): string {
  return `onbind.${onbindId}`;
}
