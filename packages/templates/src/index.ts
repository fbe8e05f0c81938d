export { BRAND, isBrand, TEMPLATE_FILES, type TemplateKind } from './brand-folders.js';
export { type CreateTemplatesOptions, createTemplates, type Templates } from './create-templates.js';
export {
  type MessageVars,
  newBoundary,
  newMessageId,
  rfc2822Date,
  UNKNOWN_LOCATION,
  type VerificationEmailVars,
} from './email-variables.js';
export { TemplateRenderFailed, TemplatesUnusable } from './errors.js';
export { MalformedMessage, messageIdOf } from './finish-message.js';
export type { InviteEmailVars } from './invite-variables.js';
export { loadTemplatesFromConfig } from './load-templates.js';
export { encodeAddressHeader, encodeHeaderText } from './mime-header.js';
export { encodeQuotedPrintable } from './quoted-printable.js';
export { SHIPPED_BRAND, SHIPPED_TEMPLATES_DIR } from './shipped-templates.js';
