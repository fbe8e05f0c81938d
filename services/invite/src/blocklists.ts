import { TesseraError } from '@tessera/errors';
import { serverNameOf } from './server-name.js';

// Sydent's store-invite blocklists (TESSERA_INVITE_BLOCKED_*): an invite into a blocked room, from
// or into a blocked homeserver, or whose room or inviter names carry a blocked word is refused
// with 403 M_UNAUTHORIZED, as Sydent refuses it.

export type Blocklists = {
  rooms: readonly string[];
  servers: readonly string[];
  keywords: readonly string[];
};

/** The request fields a blocked word is looked for in. */
const NAMED_FIELDS = ['room_name', 'room_alias', 'sender_display_name'] as const;

export type InviteToCheck = {
  roomId: string;
  sender: string;
  /** The request's other fields (fields_json), parsed. */
  fields: Readonly<Record<string, unknown>>;
};

/** Throws 403 M_UNAUTHORIZED when a blocklist refuses the invite; says which list, never the value. */
export function checkBlocklists(lists: Blocklists, { roomId, sender, fields }: InviteToCheck): void {
  if (lists.rooms.includes(roomId)) throw refused('the room is blocked');
  const servers = new Set(lists.servers.map((server) => server.toLowerCase()));
  for (const server of [serverNameOf(sender), serverNameOf(roomId)])
    if (server !== null && servers.has(server.toLowerCase())) throw refused('the homeserver is blocked');
  const keywords = lists.keywords.map((keyword) => keyword.toLowerCase());
  for (const field of NAMED_FIELDS) {
    const value = fields[field];
    if (typeof value !== 'string') continue;
    const lower = value.toLowerCase();
    if (keywords.some((keyword) => lower.includes(keyword))) throw refused('the invite holds a blocked word');
  }
}

const refused = (why: string) => new TesseraError('M_UNAUTHORIZED', `invite refused: ${why}`, { httpStatus: 403 });
