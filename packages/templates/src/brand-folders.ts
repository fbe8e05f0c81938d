import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TemplatesUnusable } from './errors.js';

/** A brand is a folder name: `brand` comes from a query parameter, so nothing else may reach the file system. */
export const BRAND = /^[A-Za-z0-9_-]+$/;

/** The files of a brand folder, in Sydent's layout. */
export const TEMPLATE_FILES = {
  verificationEmail: 'verification_template.eml.j2',
  verifyResponse: 'verify_response_template.html',
  inviteEmail: 'invite_template.eml.j2',
} as const;
export type TemplateKind = keyof typeof TEMPLATE_FILES;

export function isBrand(value: string | undefined): value is string {
  return value !== undefined && BRAND.test(value);
}

/**
 * The brand folders of `dir` and the template files each holds, read once: a brand is a request
 * parameter, so looking it up must not touch the disk (nor grow a cache) for every unknown name.
 */
export function scanBrandFolders(dir: string): Map<string, Map<TemplateKind, string>> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new TemplatesUnusable(`templates directory ${dir} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const brands = new Map<string, Map<TemplateKind, string>>();
  for (const name of names.sort()) {
    // statSync follows symbolic links: a brand may be a link to a shared folder.
    if (!isBrand(name) || !isDirectory(join(dir, name))) continue;
    const files = new Map<TemplateKind, string>();
    for (const [kind, file] of Object.entries(TEMPLATE_FILES) as [TemplateKind, string][]) {
      const path = join(dir, name, file);
      if (isFile(path)) files.set(kind, path);
    }
    brands.set(name, files);
  }
  return brands;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
