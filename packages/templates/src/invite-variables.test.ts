import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import libmime from 'libmime';
import { type InviteEmailVars, InviteVariableInvalid, inviteEmailContext } from './invite-variables.js';

const vars = (requestFields: Record<string, unknown> = {}, extra: Partial<InviteEmailVars> = {}): InviteEmailVars => ({
  to: 'bob@example.org',
  from: 'Tessera <noreply@id.example.org>',
  date: new Date(Date.UTC(2026, 11, 3, 9, 5, 7)),
  messageid: '<m1@id.example.org>',
  multipart_boundary: 'B0undary',
  token: 'InviteTok3n',
  ephemeral_private_key: 'c2VlZC1vZi10aGUta2V5+/',
  room_id: '!room:example.org',
  sender: '@alice:example.org',
  address: 'Bob@Example.org',
  requestFields,
  defaultWebClientLocation: 'https://app.example.net',
  publicBaseUrl: 'https://id.example.org/',
  ...extra,
});

describe('inviteEmailContext', () => {
  it("gives the template every string request field, extra keys included, and Sydent's computed variables", () => {
    const context = inviteEmailContext(
      vars({
        room_alias: '#project:example.org',
        room_avatar_url: 'mxc://example.org/avatar',
        room_join_rules: 'invite',
        room_name: 'Project',
        room_type: null,
        sender_avatar_url: 'mxc://example.org/alice',
        sender_display_name: 'Alice',
        'com.example.colour': 'teal',
        not_a_string: 42,
      }),
    );
    assert.equal(context.room_alias, '#project:example.org');
    assert.equal(context.room_avatar_url, 'mxc://example.org/avatar');
    assert.equal(context.room_join_rules, 'invite');
    assert.equal(context.room_name, 'Project');
    assert.equal(context.room_type, '', 'a null field is as good as absent');
    assert.equal(context.sender_avatar_url, 'mxc://example.org/alice');
    assert.equal(context.sender_display_name, 'Alice');
    assert.equal(context['com.example.colour'], 'teal');
    assert.equal(context.not_a_string, undefined, 'only strings, as in Sydent');
    assert.equal(context.medium, 'email');
    assert.equal(context.address, 'Bob@Example.org');
    assert.equal(context.room_id, '!room:example.org');
    assert.equal(context.sender, '@alice:example.org');
    assert.equal(context.to, 'bob@example.org');
    assert.equal(context.from, 'Tessera <noreply@id.example.org>');
    assert.equal(context.date, 'Thu, 03 Dec 2026 09:05:07 +0000');
    assert.equal(context.messageid, '<m1@id.example.org>');
    assert.equal(context.multipart_boundary, 'B0undary');
    assert.equal(context.token, 'InviteTok3n');
    assert.equal(context.ephemeral_private_key, 'c2VlZC1vZi10aGUta2V5+/');
    assert.equal(context.bracketed_room_name, '(Project) ');
    assert.equal(context.bracketed_verified_sender, '');
    assert.equal(context.web_client_location, 'https://app.example.net');
    assert.equal(context.subject_header_value, 'Alice has invited you to chat');
    assert.equal(
      context.sign_url,
      'https://id.example.org/_matrix/identity/api/v1/sign-ed25519?token=InviteTok3n&private_key=c2VlZC1vZi10aGUta2V5%2B%2F',
    );
  });

  it('gives empty strings for the optional fields a request left out, so templates need not test them', () => {
    const context = inviteEmailContext(vars());
    for (const name of [
      'room_alias',
      'room_avatar_url',
      'room_join_rules',
      'room_name',
      'room_type',
      'sender_avatar_url',
      'sender_display_name',
      'guest_user_id',
      'guest_access_token',
      'bracketed_room_name',
    ])
      assert.equal(context[name], '', name);
    // No display name: the subject names the sender's user ID rather than nobody.
    assert.equal(context.subject_header_value, '@alice:example.org has invited you to chat');
  });

  it('offers the _forhtml and _forurl variants of every variable', () => {
    const context = inviteEmailContext(vars({ room_name: `Tom & Jerry's <room>` }));
    assert.equal(context.room_name_forhtml, 'Tom &amp; Jerry&#39;s &lt;room&gt;');
    assert.equal(context.room_name_forurl, 'Tom%20%26%20Jerry%27s%20%3Croom%3E');
    assert.equal(context.token_forurl, 'InviteTok3n');
    assert.equal(context.ephemeral_private_key_forurl, 'c2VlZC1vZi10aGUta2V5%2B/');
    assert.equal(context.to_forhtml, 'bob@example.org');
    assert.equal(context.multipart_boundary_forurl, undefined);
  });

  it('takes web_client_location from org.matrix.web_client_location, and the default when it is none or no http(s) URL', () => {
    const location = (value: unknown) =>
      inviteEmailContext(vars({ 'org.matrix.web_client_location': value })).web_client_location;
    assert.equal(location('https://chat.example.com/'), 'https://chat.example.com');
    assert.equal(location('http://localhost:8080'), 'http://localhost:8080');
    assert.equal(location(null), 'https://app.example.net');
    assert.equal(location('javascript:alert(1)'), 'https://app.example.net');
    assert.equal(location('not a url'), 'https://app.example.net');
  });

  it('brackets the verified sender when the request proved it', () => {
    const context = inviteEmailContext(vars({}, { verifiedSender: '@alice:example.org' }));
    assert.equal(context.bracketed_verified_sender, '(@alice:example.org) ');
  });

  it('truncates the display name over 20 characters and the room name over 30, as Sydent does', () => {
    const at = (fields: Record<string, string>) => inviteEmailContext(vars(fields));
    assert.equal(at({ sender_display_name: 'a'.repeat(20) }).sender_display_name, 'a'.repeat(20));
    assert.equal(at({ sender_display_name: 'b'.repeat(21) }).sender_display_name, `${'b'.repeat(19)}…`);
    assert.equal(at({ room_name: 'c'.repeat(30) }).room_name, 'c'.repeat(30));
    const long = at({ room_name: 'd'.repeat(31) });
    assert.equal(long.room_name, `${'d'.repeat(25)}…`);
    assert.equal(long.bracketed_room_name, `(${'d'.repeat(25)}…) `);
    // Characters, not UTF-16 units: 20 emoji are 20 characters (40 units) and stay whole.
    assert.equal(at({ sender_display_name: '🎉'.repeat(20) }).sender_display_name, '🎉'.repeat(20));
    assert.equal(at({ sender_display_name: '🎉'.repeat(21) }).sender_display_name, `${'🎉'.repeat(19)}…`);
    // The subject is made of the shortened name.
    assert.equal(
      libmime.decodeWords(at({ sender_display_name: 'e'.repeat(30) }).subject_header_value ?? ''),
      `${'e'.repeat(19)}… has invited you to chat`,
    );
  });

  it('says "to a space" in the subject when room_type is m.space', () => {
    const subject = (room_type: string) =>
      inviteEmailContext(vars({ sender_display_name: 'Alice', room_type })).subject_header_value;
    assert.equal(subject('m.space'), 'Alice has invited you to a space');
    assert.equal(subject('m.other'), 'Alice has invited you to chat');
  });

  it('encodes a non-ASCII subject for the header, folded, ASCII only', () => {
    const subject =
      inviteEmailContext(vars({ sender_display_name: 'Zoë Müller 确认', room_type: 'm.space' })).subject_header_value ??
      '';
    assert.match(subject, /^=\?UTF-8\?B\?[\x20-\x7e\r\n]+$/);
    assert.equal(libmime.decodeWords(subject), 'Zoë Müller 确认 has invited you to a space');
  });

  it("puts a request field's line break or control character out as a space: no value can write a header", () => {
    const context = inviteEmailContext(
      vars({ room_name: 'Room\r\nBcc: eve@example.org', sender_display_name: 'A\u0000li\nce' }),
    );
    assert.equal(context.room_name, 'Room Bcc: eve@example.org');
    assert.equal(context.sender_display_name, 'A li ce');
  });

  it('refuses a control character in the room ID, the sender, the address or the verified sender, naming the variable only', () => {
    const cases: [keyof InviteEmailVars, string][] = [
      ['room_id', '!room:example.org\nBcc: eve@example.org'],
      ['sender', '@alice:example.org\u0007'],
      ['address', 'bob@example.org\t'],
      ['verifiedSender', '@alice:example.org\r\n'],
    ];
    for (const [name, value] of cases)
      assert.throws(
        () => inviteEmailContext(vars({}, { [name]: value })),
        (err: Error) =>
          err instanceof InviteVariableInvalid &&
          err.message.includes(`variable ${name}`) &&
          !err.message.includes('example.org'),
        name,
      );
  });

  it('lets what the server computes win over a request field of the same name', () => {
    const context = inviteEmailContext(
      vars({
        token: 'forged',
        ephemeral_private_key: 'forged',
        to: 'eve@example.org',
        sender: '@eve:example.org',
        bracketed_verified_sender: '(@admin:example.org) ',
        web_client_location: 'https://evil.example',
      }),
    );
    assert.equal(context.token, 'InviteTok3n');
    assert.equal(context.ephemeral_private_key, 'c2VlZC1vZi10aGUta2V5+/');
    assert.equal(context.to, 'bob@example.org');
    assert.equal(context.sender, '@alice:example.org');
    assert.equal(context.bracketed_verified_sender, '');
    assert.equal(context.web_client_location, 'https://app.example.net');
  });

  it('refuses a multi-line address, naming the variable and not its value', () => {
    assert.throws(
      () => inviteEmailContext(vars({}, { to: 'bob@example.org\r\nBcc: eve@example.org' })),
      (err: Error) => err.message.includes('variable to') && !err.message.includes('eve@example.org'),
    );
  });
});
