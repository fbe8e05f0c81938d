import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import { createTemplates, type Templates } from './create-templates.js';
import { TemplateRenderFailed, TemplatesUnusable } from './errors.js';
import type { InviteEmailVars } from './invite-variables.js';
import { SHIPPED_TEMPLATES_DIR } from './shipped-templates.js';

const TOKEN = 'InviteTok3nXyz';
const PRIVATE_KEY = 'c2VlZC1vZi10aGUta2V5LWZvci10ZXN0cy4uLi4uLg';
const vars = (requestFields: Record<string, unknown> = {}, extra: Partial<InviteEmailVars> = {}): InviteEmailVars => ({
  to: 'bob@example.org',
  from: 'Tessera <noreply@id.example.org>',
  token: TOKEN,
  ephemeral_private_key: PRIVATE_KEY,
  room_id: '!room:example.org',
  sender: '@alice:example.org',
  address: 'bob@example.org',
  requestFields: { sender_display_name: 'Alice', room_name: 'Project X', ...requestFields },
  defaultWebClientLocation: 'https://app.example.net',
  publicBaseUrl: 'https://id.example.org',
  ...extra,
});

// An invite template written the way Sydent's operators write theirs (Sydent's variables, its
// `|safe` and `|urlencode` habits, the old `_forhtml` variants): it must render unchanged.
const SYDENT_STYLE_INVITE = `Date: {{ date|safe }}
From: {{ from|safe }}
To: {{ to|safe }}
Message-ID: {{ messageid|safe }}
Subject: {{ subject_header_value|safe }}
MIME-Version: 1.0
Content-Type: multipart/alternative;
\tboundary="{{ multipart_boundary|safe }}"

--{{ multipart_boundary|safe }}
Content-Type: text/plain; charset=UTF-8
Content-Disposition: inline

Acme: {{ sender_display_name|safe }} {{ bracketed_verified_sender|safe }}wants you in a {% if room_type == "m.space" %}space{% else %}room{% endif %} {{ bracketed_room_name|safe }}here.
{{ web_client_location }}/#/room/{{ room_id|urlencode }}?email={{ to|urlencode }}&key={{ ephemeral_private_key|urlencode }}&token={{ token|urlencode }}&inviter={{ sender_display_name|urlencode }}&colour={{ colour }}

--{{ multipart_boundary|safe }}
Content-Type: text/html; charset=UTF-8
Content-Disposition: inline

<p>Acme: {{ sender_display_name }} in {{ room_name }} ({{ room_name_forhtml|safe }})</p>

--{{ multipart_boundary|safe }}--
`;

describe('the invite mail', () => {
  let dir: string;
  let templates: Templates;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-invite-templates-'));
    await symlink(join(SHIPPED_TEMPLATES_DIR, 'tessera'), join(dir, 'tessera'));
    await mkdir(join(dir, 'acme'));
    await writeFile(join(dir, 'acme', 'invite_template.eml.j2'), SYDENT_STYLE_INVITE);
    // Fails for one room only: the trial render at start cannot see it.
    await mkdir(join(dir, 'fragile'));
    await writeFile(
      join(dir, 'fragile', 'invite_template.eml.j2'),
      'Subject: x\n\n{% if room_name == "boom" %}{{ token.nope() }}{% endif %}{{ token }}\n',
    );
    templates = createTemplates({ dir, defaultBrand: 'tessera', require: ['inviteEmail'] });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describe('shipped with Tessera', () => {
    it('is a multipart message naming the inviter and the room, with a join link carrying the token and the key', async () => {
      const raw = templates.renderInviteEmail(undefined, vars({}, { verifiedSender: '@alice:example.org' }));
      assert.match(raw, /^[\x20-\x7e\r\n\t]*$/, 'the whole message is 7-bit ASCII');
      const mail = await simpleParser(raw);
      assert.equal(mail.subject, 'Alice has invited you to chat');
      assert.deepEqual(mail.to && !Array.isArray(mail.to) && mail.to.value, [{ address: 'bob@example.org', name: '' }]);
      const text = mail.text ?? '';
      assert.ok(text.includes('Alice (@alice:example.org) invited you to a Matrix room: Project X.'), text);
      const link = new URL(/https:\/\/app\.example\.net\/\S+/.exec(text)?.[0] ?? '');
      const fragment = new URL(link.hash.slice(1), 'https://fragment.invalid');
      assert.equal(decodeURIComponent(fragment.pathname), '/room/!room:example.org');
      assert.equal(fragment.searchParams.get('email'), 'bob@example.org');
      assert.equal(fragment.searchParams.get('room_name'), 'Project X');
      assert.equal(fragment.searchParams.get('inviter_name'), 'Alice');
      const signUrl = new URL(fragment.searchParams.get('signurl') ?? '');
      assert.equal(signUrl.origin + signUrl.pathname, 'https://id.example.org/_matrix/identity/api/v1/sign-ed25519');
      assert.equal(signUrl.searchParams.get('token'), TOKEN);
      assert.equal(signUrl.searchParams.get('private_key'), PRIVATE_KEY);
      const html = mail.html || '';
      assert.ok(html.includes('<strong>Alice</strong>') && html.includes('<strong>Project X</strong>'));
      assert.ok(html.includes(`href="${link.href.replace(/&/g, '&amp;')}"`), 'the same link in the HTML part');
    });

    it('speaks of a space when room_type is m.space, in the subject and both parts', async () => {
      const mail = await simpleParser(templates.renderInviteEmail(undefined, vars({ room_type: 'm.space' })));
      assert.equal(mail.subject, 'Alice has invited you to a space');
      assert.ok(mail.text?.includes('invited you to a Matrix space: Project X.'));
      assert.ok((mail.html || '').includes('invited you to a Matrix space'));
    });

    it('shows the shortened names, and encodes a non-ASCII subject', async () => {
      const raw = templates.renderInviteEmail(
        undefined,
        vars({ sender_display_name: 'Zoë Müller-Lüdenscheidt von Hohenberg', room_name: 'Ç'.repeat(40) }),
      );
      const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
      assert.match(head, /^Subject: =\?UTF-8\?B\?/m);
      const mail = await simpleParser(raw);
      assert.equal(mail.subject, 'Zoë Müller-Lüdensch… has invited you to chat');
      assert.ok(mail.text?.includes(`Zoë Müller-Lüdensch… invited you to a Matrix room: ${'Ç'.repeat(25)}….`));
    });

    it('escapes a hostile room name and display name in the HTML part', async () => {
      const hostile = '"><script>alert(1)</script>';
      const mail = await simpleParser(
        templates.renderInviteEmail(undefined, vars({ room_name: hostile, sender_display_name: '<b>x</b>' })),
      );
      const html = mail.html || '';
      assert.ok(!html.includes('<script>'));
      assert.ok(html.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(html.includes('&lt;b&gt;x&lt;/b&gt;'));
    });

    it('fails with TemplateRenderFailed for a room ID with a line break, naming neither the room nor the address', () => {
      assert.throws(
        () => templates.renderInviteEmail(undefined, vars({}, { room_id: '!room:example.org\nBcc: eve@evil.org' })),
        (err: Error) =>
          err instanceof TemplateRenderFailed && err.message.includes('room_id') && !err.message.includes('evil.org'),
      );
    });

    it('keeps every line within 78 characters, CRLF-terminated', () => {
      const raw = templates.renderInviteEmail(undefined, vars({ room_name: 'r'.repeat(200) }));
      assert.ok(!/[^\r]\n|\r[^\n]/.test(raw), 'no bare LF or CR');
      for (const line of raw.split('\r\n')) assert.ok(line.length <= 78, `line of ${line.length}`);
    });
  });

  describe('in a brand folder of Sydent layout', () => {
    it("renders the brand's own invite template with Sydent's variables", async () => {
      const raw = templates.renderInviteEmail(
        'acme',
        vars({ room_type: 'm.space', colour: 'teal', sender_display_name: 'Al & Co' }, { verifiedSender: '@al:x.org' }),
      );
      const mail = await simpleParser(raw);
      assert.equal(mail.subject, 'Al & Co has invited you to a space');
      const text = mail.text ?? '';
      assert.ok(text.includes('Acme: Al & Co (@al:x.org) wants you in a space (Project X) here.'), text);
      assert.ok(
        text.includes(
          `https://app.example.net/#/room/%21room%3Aexample.org?email=bob%40example.org&key=${PRIVATE_KEY}&token=${TOKEN}&inviter=Al%20%26%20Co&colour=teal`,
        ),
        text,
      );
      assert.ok((mail.html || '').includes('<p>Acme: Al &amp; Co in Project X (Project X)</p>'));
    });

    it('falls back to the default brand for a brand without an invite template', async () => {
      for (const brand of ['nobody', '../acme', undefined]) {
        const mail = await simpleParser(templates.renderInviteEmail(brand, vars()));
        assert.equal(mail.subject, 'Alice has invited you to chat', String(brand));
        assert.ok(mail.text?.includes('invited you to a Matrix room'), String(brand));
      }
    });

    it('reports a template failing on some values by its path, naming no token, key or address', () => {
      assert.throws(
        () => templates.renderInviteEmail('fragile', vars({ room_name: 'boom' })),
        (err: Error) =>
          err instanceof TemplateRenderFailed &&
          err.message.includes(join(dir, 'fragile', 'invite_template.eml.j2')) &&
          !err.message.includes(TOKEN) &&
          !err.message.includes(PRIVATE_KEY) &&
          !err.message.includes('bob@example.org'),
      );
    });
  });

  describe('at start', () => {
    it('stops on an invite template that cannot render, naming its path', async () => {
      const broken = await mkdtemp(join(tmpdir(), 'tessera-invite-broken-'));
      try {
        await symlink(join(SHIPPED_TEMPLATES_DIR, 'tessera'), join(broken, 'tessera'));
        await mkdir(join(broken, 'typo'));
        await writeFile(join(broken, 'typo', 'invite_template.eml.j2'), 'Subject: {{ room_name|no_such }}\n\nx\n');
        assert.throws(
          () => createTemplates({ dir: broken, defaultBrand: 'tessera' }),
          (err: Error) =>
            err instanceof TemplatesUnusable && err.message.includes(join(broken, 'typo', 'invite_template.eml.j2')),
        );
      } finally {
        await rm(broken, { recursive: true, force: true });
      }
    });

    it('requires the invite template of the default brand only when asked to (the notifier does)', async () => {
      const bare = await mkdtemp(join(tmpdir(), 'tessera-invite-bare-'));
      try {
        await mkdir(join(bare, 'mine'));
        await writeFile(join(bare, 'mine', 'verification_template.eml.j2'), 'Subject: x\n\nbody\n');
        await writeFile(join(bare, 'mine', 'verify_response_template.html'), '<p>{{ message }}</p>\n');
        assert.deepEqual(createTemplates({ dir: bare, defaultBrand: 'mine' }).brands(), ['mine']);
        assert.throws(
          () => createTemplates({ dir: bare, defaultBrand: 'mine', require: ['inviteEmail'] }),
          (err: Error) =>
            err instanceof TemplatesUnusable && err.message.includes(join(bare, 'mine', 'invite_template.eml.j2')),
        );
      } finally {
        await rm(bare, { recursive: true, force: true });
      }
    });
  });
});
