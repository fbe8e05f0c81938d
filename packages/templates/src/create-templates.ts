import { join } from 'node:path';
import { isBrand, scanBrandFolders, TEMPLATE_FILES, type TemplateKind } from './brand-folders.js';
import { type CompiledTemplate, compileTemplate } from './compile-template.js';
import { type VerificationEmailVars, verificationEmailContext } from './email-variables.js';
import { createEnvironment } from './environment.js';
import { TemplateRenderFailed, TemplatesUnusable } from './errors.js';
import { finishMessage, MalformedMessage } from './finish-message.js';
import { type InviteEmailVars, inviteEmailContext } from './invite-variables.js';
import { SHIPPED_TEMPLATES_DIR } from './shipped-templates.js';

export type CreateTemplatesOptions = {
  /** TESSERA_TEMPLATES_DIR: a folder of `<brand>/` folders in Sydent's layout; the shipped templates by default. */
  dir?: string | undefined;
  /** TESSERA_DEFAULT_BRAND: used when a request names no brand, an unknown one, or one lacking the file. */
  defaultBrand: string;
  /**
   * Templates the default brand must have besides the two every service needs (the validation
   * mail and page): the notifier asks for the invite mail too.
   */
  require?: readonly TemplateKind[];
};

export type Templates = {
  /**
   * The validation mail as a complete RFC 5322 message, ready to send as it is: CRLF line
   * endings, non-ASCII headers encoded. Throws TemplateRenderFailed when the template fails.
   */
  renderVerificationEmail(brand: string | undefined, vars: VerificationEmailVars): string;
  /** The HTML page of GET submitToken, `message` HTML-escaped. */
  renderVerifyResponse(brand: string | undefined, vars: { message: string }): string;
  /**
   * The invite mail (`invite_template.eml.j2`), finished as the validation mail is. Throws
   * TemplateRenderFailed when the template fails, TemplatesUnusable when neither the brand nor
   * the default brand has one.
   */
  renderInviteEmail(brand: string | undefined, vars: InviteEmailVars): string;
  /** The brand folders found, sorted. */
  brands(): string[];
};

/**
 * Reads, compiles and renders once every template of every brand folder. Fails (TemplatesUnusable,
 * naming the path) when the default brand lacks a template that has no other fallback, or when any
 * template does not compile or cannot render: a broken template stops the service at start, not a
 * user's request. Brand folders added later are seen after a restart.
 */
export function createTemplates({
  dir = SHIPPED_TEMPLATES_DIR,
  defaultBrand,
  require = [],
}: CreateTemplatesOptions): Templates {
  if (!isBrand(defaultBrand))
    throw new TemplatesUnusable(`default brand ${JSON.stringify(defaultBrand)} is not a folder name`);
  const env = createEnvironment(dir);
  const compiled = new Map<string, Map<TemplateKind, CompiledTemplate>>();
  for (const [brand, files] of scanBrandFolders(dir)) {
    const templates = new Map<TemplateKind, CompiledTemplate>();
    for (const [kind, path] of files) {
      const template = compileTemplate(path, env);
      assertRenders(kind, template);
      templates.set(kind, template);
    }
    compiled.set(brand, templates);
  }
  for (const kind of new Set<TemplateKind>(['verificationEmail', 'verifyResponse', ...require])) {
    if (!compiled.get(defaultBrand)?.has(kind))
      throw new TemplatesUnusable(`default template ${join(dir, defaultBrand, TEMPLATE_FILES[kind])} is missing`);
  }

  // Like Sydent: the brand asked for when it is a folder with that file, else the default brand.
  const templateFor = (brand: string | undefined, kind: TemplateKind): CompiledTemplate => {
    const chosen = isBrand(brand) ? compiled.get(brand)?.get(kind) : undefined;
    const template = chosen ?? compiled.get(defaultBrand)?.get(kind);
    if (template === undefined) throw new TemplatesUnusable(`no ${TEMPLATE_FILES[kind]} for brand ${defaultBrand}`);
    return template;
  };

  return {
    renderVerificationEmail(brand, vars) {
      return renderEmail(templateFor(brand, 'verificationEmail'), verificationEmailContext(vars));
    },
    renderVerifyResponse(brand, { message }) {
      return templateFor(brand, 'verifyResponse').render({ message });
    },
    renderInviteEmail(brand, vars) {
      const template = templateFor(brand, 'inviteEmail');
      let context: Record<string, string>;
      try {
        context = inviteEmailContext(vars);
      } catch (err) {
        // A value no template can carry (a multi-line one, an identifier with a control
        // character): this invite fails the same way every time, like a broken template.
        if (err instanceof TypeError)
          throw new TemplateRenderFailed(template.path, { detail: err.message, cause: err });
        throw err;
      }
      return renderEmail(template, context);
    },
    brands: () => [...compiled.keys()],
  };
}

function renderEmail(template: CompiledTemplate, context: Record<string, string>): string {
  try {
    return finishMessage(template.render(context));
  } catch (err) {
    if (err instanceof MalformedMessage) throw new TemplateRenderFailed(template.path, { detail: err.message });
    throw err;
  }
}

// Stand-ins for the trial render at start: well-formed, single-line, and no secret.
const TRIAL_EMAIL_VARS = {
  to: 'someone@example.org',
  from: 'Identity server <noreply@example.org>',
  token: 'token',
  link: 'https://id.example.org/_matrix/identity/api/v1/validate/email/submitToken?token=token&client_secret=secret&sid=1',
  ipaddress: '192.0.2.1',
  date: new Date(0),
  messageid: '<trial@example.org>',
  multipart_boundary: 'boundary',
};
const TRIAL_INVITE_VARS: InviteEmailVars = {
  ...TRIAL_EMAIL_VARS,
  ephemeral_private_key: 'key',
  room_id: '!room:example.org',
  sender: '@someone:example.org',
  address: 'someone@example.org',
  requestFields: { room_name: 'Room', sender_display_name: 'Someone', room_type: '' },
  defaultWebClientLocation: 'https://app.example.org',
  publicBaseUrl: 'https://id.example.org',
};

/**
 * Renders a template once with stand-in values. nunjucks finds some mistakes only when rendering
 * (an unknown filter, a missing include, a call to something undefined, a header block with no
 * blank line after it); such a template would fail every request, so it stops the start instead.
 */
function assertRenders(kind: TemplateKind, template: CompiledTemplate): void {
  try {
    switch (kind) {
      case 'verificationEmail':
        renderEmail(template, verificationEmailContext(TRIAL_EMAIL_VARS));
        break;
      case 'verifyResponse':
        template.render({ message: 'message' });
        break;
      case 'inviteEmail':
        renderEmail(template, inviteEmailContext(TRIAL_INVITE_VARS));
        break;
    }
  } catch (err) {
    if (err instanceof TemplateRenderFailed) throw new TemplatesUnusable(err.message, { cause: err });
    throw err;
  }
}
