/** The templates directory cannot be used: a missing default template, a syntax error. Names the file. */
export class TemplatesUnusable extends Error {
  override readonly name = 'TemplatesUnusable';
}

/**
 * A template failed while rendering. The message names the file and nunjucks' account of the
 * failure, which quotes template expressions (`token["upper"]`), never the values they held.
 */
export class TemplateRenderFailed extends Error {
  override readonly name = 'TemplateRenderFailed';
  constructor(
    readonly path: string,
    options: ErrorOptions & { detail: string },
  ) {
    super(`cannot render ${path}: ${options.detail}`, { cause: options.cause });
  }
}
