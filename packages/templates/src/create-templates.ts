import { join } from 'node:path';
import { isBrand, scanBrandFolders, TEMPLATE_FILES, type TemplateKind } from './brand-folders.js';
import { type CompiledTemplate, compileTemplate } from './compile-template.js';
import { type VerificationEmailVars, verificationEmailContext } from './email-variables.js';
import { createEnvironment } from './environment.js';
import { TemplateRenderFailed, TemplatesUnusable } from './errors.js';
import { finishMessage, MalformedMessage } from './finish-message.js';
import { SHIPPED_TEMPLATES_DIR } from './shipped-templates.js';

export type CreateTemplatesOptions = {
  /** TESSERA_TEMPLATES_DIR: a folder of `<brand>/` folders in Sydent's layout; the shipped templates by default. */
  dir?: string | undefined;
  /** TESSERA_DEFAULT_BRAND: used when a request names no brand, an unknown one, or one lacking the file. */
  defaultBrand: string;
};

export type Templates = {
  /**
   * The validation mail as a complete RFC 5322 message, ready to send as it is: CRLF line
   * endings, non-ASCII headers encoded. Throws TemplateRenderFailed when the template fails.
   */
  renderVerificationEmail(brand: string | undefined, vars: VerificationEmailVars): string;
  /** The HTML page of GET submitToken, `message` HTML-escaped. */
  renderVerifyResponse(brand: string | undefined, vars: { message: string }): string;
  /** The brand folders found, sorted. */
  brands(): string[];
};

/**
 * Reads and compiles every template of every brand folder once. Fails (TemplatesUnusable, naming
 * the path) when the default brand lacks a template that has no other fallback, or when any
 * template does not compile: a broken template stops the service at start, not a user's request.
 * Brand folders added later are seen after a restart.
 */
export function createTemplates({ dir = SHIPPED_TEMPLATES_DIR, defaultBrand }: CreateTemplatesOptions): Templates {
  if (!isBrand(defaultBrand))
    throw new TemplatesUnusable(`default brand ${JSON.stringify(defaultBrand)} is not a folder name`);
  const env = createEnvironment(dir);
  const compiled = new Map<string, Map<TemplateKind, CompiledTemplate>>();
  for (const [brand, files] of scanBrandFolders(dir)) {
    const templates = new Map<TemplateKind, CompiledTemplate>();
    for (const [kind, path] of files) templates.set(kind, compileTemplate(path, env));
    compiled.set(brand, templates);
  }
  for (const kind of ['verificationEmail', 'verifyResponse'] as const) {
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
      const context = verificationEmailContext(vars);
      const template = templateFor(brand, 'verificationEmail');
      try {
        return finishMessage(template.render(context));
      } catch (err) {
        if (err instanceof MalformedMessage) throw new TemplateRenderFailed(template.path, { detail: err.message });
        throw err;
      }
    },
    renderVerifyResponse(brand, { message }) {
      return templateFor(brand, 'verifyResponse').render({ message });
    },
    brands: () => [...compiled.keys()],
  };
}
