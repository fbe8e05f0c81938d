import { readFileSync } from 'node:fs';
import nunjucks from 'nunjucks';
import { TemplateRenderFailed, TemplatesUnusable } from './errors.js';
import { isPercentFormat, renderPercentFormat } from './percent-format.js';

export type CompiledTemplate = {
  readonly path: string;
  render(context: Readonly<Record<string, string>>): string;
};

/** Reads and compiles one template file now, so that a syntax error stops the service at start. */
export function compileTemplate(path: string, env: nunjucks.Environment): CompiledTemplate {
  const source = readSource(path);
  if (path.endsWith('.html') && isPercentFormat(source)) {
    return { path, render: (context) => renderPercentFormat(source, context) };
  }
  let template: nunjucks.Template;
  try {
    template = new nunjucks.Template(source, env, path, true);
  } catch (err) {
    throw new TemplatesUnusable(`template ${path} does not compile: ${describe(err)}`, { cause: err });
  }
  return {
    path,
    render(context) {
      try {
        return template.render(context);
      } catch (err) {
        throw new TemplateRenderFailed(path, { cause: err, detail: describe(err) });
      }
    },
  };
}

function readSource(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TemplatesUnusable(`template ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

// nunjucks starts its messages with "(path) [Line n, Column m]" and a newline; keep it on one line.
function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
