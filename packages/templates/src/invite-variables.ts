import { type MessageVars, messageVariables, withVariants } from './email-variables.js';
import { encodeHeaderText } from './mime-header.js';

/**
 * What the invite mail is rendered from. The template gets Sydent's variables for
 * `invite_template.eml.j2`: every string field of the store-invite request (`room_alias`,
 * `room_avatar_url`, `room_join_rules`, `room_name`, `room_type`, `sender_avatar_url`,
 * `sender_display_name`, extra keys as they came; nulls are absent), `medium`, `address`,
 * `room_id`, `sender`, `token`, `ephemeral_private_key`, `web_client_location`,
 * `bracketed_room_name`, `bracketed_verified_sender`, `subject_header_value`, the header
 * variables (`to`, `from`, `date`, `messageid`, `multipart_boundary`), one of ours (`sign_url`),
 * and the `_forhtml` / `_forurl` variant of each.
 */
export type InviteEmailVars = MessageVars & {
  /** The invite's token: the state key of the room's m.room.third_party_invite. */
  token: string;
  /** The ephemeral ed25519 seed, unpadded base64: what sign-ed25519 signs with. */
  ephemeral_private_key: string;
  room_id: string;
  /** The inviter's Matrix user ID. */
  sender: string;
  /** The address as the inviter gave it (`to` is where the mail goes). */
  address: string;
  /** The request's other fields (InviteMail.fields_json): only its strings become variables, as in Sydent. */
  requestFields: Readonly<Record<string, unknown>>;
  /** TESSERA_INVITE_WEB_CLIENT_LOCATION: `web_client_location` when the request has no `org.matrix.web_client_location`. */
  defaultWebClientLocation: string;
  /**
   * The sender as the identity server verified it (store-invite on v2, with the sender's own
   * token), shown as `bracketed_verified_sender`; absent or null when the request did not prove it.
   */
  verifiedSender?: string | null;
  /** TESSERA_PUBLIC_BASE_URL: where `sign_url` points. */
  publicBaseUrl: string;
};

// Sydent's limits: a display name over 20 characters keeps 19 and an ellipsis, a room name over
// 30 keeps 25 and an ellipsis (characters are code points, as Python counts them).
const DISPLAY_NAME_LIMIT = { over: 20, keep: 19 };
const ROOM_NAME_LIMIT = { over: 30, keep: 25 };
const ELLIPSIS = '…';
const SPACE_ROOM_TYPE = 'm.space';
// The v1 path, as Sydent's mails carry it (both trees serve it).
const SIGN_ED25519_PATH = '/_matrix/identity/api/v1/sign-ed25519';
const WEB_CLIENT_LOCATION_KEY = 'org.matrix.web_client_location';
// Optional request fields a template may use without testing for them: empty when not sent.
const OPTIONAL_FIELDS = [
  'room_alias',
  'room_avatar_url',
  'room_join_rules',
  'room_name',
  'room_type',
  'sender_avatar_url',
  'sender_display_name',
  'guest_user_id',
  'guest_access_token',
] as const;
// A line break or other control character in a request field (a room name, a display name) is
// a space: an operator's template may put such a value in a header.
const CONTROL_CHARACTERS = /\p{Cc}+/gu;
// The identifiers the mail names (what the join link and the homeserver use) must hold none: put
// out as spaces they would name another room or user, so such an invite is refused.
const IDENTIFIERS = ['room_id', 'sender', 'address', 'verifiedSender'] as const;

/** An invite whose room ID, sender or address holds a control character: it cannot be mailed. Names the variable only. */
export class InviteVariableInvalid extends TypeError {
  override readonly name = 'InviteVariableInvalid';
  constructor(readonly variable: string) {
    super(`template variable ${variable} must hold no control character`);
  }
}

/** The template context of the invite mail, with every variable and its `_forhtml` / `_forurl` variants. */
export function inviteEmailContext(vars: InviteEmailVars): Record<string, string> {
  for (const name of IDENTIFIERS) {
    if (/\p{Cc}/u.test(vars[name] ?? '')) throw new InviteVariableInvalid(name);
  }
  const request: Record<string, string> = Object.fromEntries(OPTIONAL_FIELDS.map((name) => [name, '']));
  for (const [name, value] of Object.entries(vars.requestFields)) {
    if (typeof value === 'string') request[name] = value.replace(CONTROL_CHARACTERS, ' ');
  }
  const senderDisplayName = truncate(request.sender_display_name ?? '', DISPLAY_NAME_LIMIT);
  const roomName = truncate(request.room_name ?? '', ROOM_NAME_LIMIT);
  const isSpace = request.room_type === SPACE_ROOM_TYPE;
  // Sydent's subject names the display name; with none, the sender's user ID says who it is.
  const inviter = senderDisplayName === '' ? vars.sender : senderDisplayName;
  const subject = `${inviter} has invited you ${isSpace ? 'to a space' : 'to chat'}`;
  // What the server computes wins over a request field of the same name, as in Sydent.
  return withVariants(
    {
      ...request,
      medium: 'email',
      address: vars.address,
      room_id: vars.room_id,
      sender: vars.sender,
      sender_display_name: senderDisplayName,
      room_name: roomName,
      token: vars.token,
      ephemeral_private_key: vars.ephemeral_private_key,
      web_client_location: webClientLocation(request[WEB_CLIENT_LOCATION_KEY], vars.defaultWebClientLocation),
      bracketed_room_name: roomName === '' ? '' : `(${roomName}) `,
      bracketed_verified_sender: vars.verifiedSender ? `(${vars.verifiedSender}) ` : '',
      subject_header_value: encodeHeaderText(subject),
      sign_url: signUrl(vars),
      ...messageVariables(vars),
    },
    { folded: ['subject_header_value'] },
  );
}

function truncate(value: string, { over, keep }: { over: number; keep: number }): string {
  const characters = Array.from(value);
  return characters.length > over ? `${characters.slice(0, keep).join('')}${ELLIPSIS}` : value;
}

/**
 * The homeserver's `org.matrix.web_client_location` when it is an http(s) URL, else the default:
 * the mail's join link starts with it, and a `javascript:` one must not become a link.
 */
function webClientLocation(requested: string | undefined, fallback: string): string {
  if (requested === undefined) return fallback;
  try {
    const { protocol } = new URL(requested);
    return protocol === 'https:' || protocol === 'http:' ? requested.replace(/\/+$/, '') : fallback;
  } catch {
    return fallback;
  }
}

/** This server's sign-ed25519 with the invite's token and ephemeral key: the `signurl` a web client's join link carries. */
function signUrl({ publicBaseUrl, token, ephemeral_private_key }: InviteEmailVars): string {
  const query = `token=${encodeURIComponent(token)}&private_key=${encodeURIComponent(ephemeral_private_key)}`;
  return `${publicBaseUrl.replace(/\/+$/, '')}${SIGN_ED25519_PATH}?${query}`;
}
