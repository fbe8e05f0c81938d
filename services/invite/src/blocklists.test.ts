import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Blocklists, checkBlocklists } from './blocklists.js';

const LISTS: Blocklists = { rooms: ['!bad:hs.example'], servers: ['evil.example'], keywords: ['Casino'] };
const invite = (roomId: string, sender: string, fields: Record<string, unknown> = {}) => ({ roomId, sender, fields });
const refusal = { errcode: 'M_UNAUTHORIZED', httpStatus: 403 };

describe('the store-invite blocklists', () => {
  it('let an invite through that no list names', () =>
    checkBlocklists(LISTS, invite('!ok:hs.example', '@a:hs.example', { room_name: 'Book club' })));

  it('refuse a blocked room', () =>
    assert.throws(() => checkBlocklists(LISTS, invite('!bad:hs.example', '@a:hs.example')), refusal));

  it("refuse a blocked homeserver, the sender's or the room's, in any case", () => {
    assert.throws(() => checkBlocklists(LISTS, invite('!ok:hs.example', '@a:Evil.Example')), refusal);
    assert.throws(() => checkBlocklists(LISTS, invite('!r:evil.example', '@a:hs.example')), refusal);
  });

  it('refuse a blocked word in the room name, the room alias or the display name, in any case', () => {
    for (const field of ['room_name', 'room_alias', 'sender_display_name'])
      assert.throws(
        () => checkBlocklists(LISTS, invite('!ok:hs.example', '@a:hs.example', { [field]: 'Big CASINO night' })),
        refusal,
      );
  });

  it('look for words in those fields only', () =>
    checkBlocklists(LISTS, invite('!ok:hs.example', '@a:hs.example', { room_topic: 'casino', room_name: null })));
});
