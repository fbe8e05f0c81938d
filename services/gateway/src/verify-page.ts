import type { ErrCode } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import type { Medium } from '@tessera/spec-params';
import type { Response } from 'express';

/** The part of @tessera/templates that GET submitToken uses: the brand's verify_response_template.html. */
export interface VerifyPages {
  /** Unknown or undefined brands fall back to the default brand; `message` is escaped by the template engine. */
  renderVerifyResponse(brand: string | undefined, variables: { message: string }): string;
}

export const SUCCESS_MESSAGE = 'Verification successful! Please return to your Matrix client to continue.';

// What went wrong, in words for the person who clicked the link.
const EXPLANATIONS: Partial<Record<ErrCode, string>> = {
  M_TOKEN_INCORRECT: 'The verification code is not correct.',
  M_SESSION_EXPIRED: 'This verification link has expired.',
  M_NO_VALID_SESSION: 'This verification link is not valid.',
  M_MISSING_PARAMS: 'This verification link is incomplete.',
  M_INVALID_PARAM: 'This verification link is damaged.',
};

/** The failure page's message: an explanation, what to do, and the server's reason. */
export function failureMessage(medium: Medium, status: number, errcode: ErrCode, reason: string): string {
  if (status >= 500) return 'Verification failed because of a problem on our side. Please try again later.';
  const explanation = EXPLANATIONS[errcode] ?? 'Verification failed.';
  const what = medium === 'email' ? 'email' : 'text message';
  return `${explanation} You may need to request another verification ${what}. (${reason})`;
}

// The page's URL holds the token and client secret: it must not travel on as a Referer, nor be cached.
const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

export interface VerifyPage {
  status: number;
  message: string;
  brand: string | undefined;
  pages: VerifyPages;
  log: Logger;
}

/**
 * Sends the human-facing page of GET submitToken. Never JSON: should the brand's template fail to
 * render, a plain built-in page carries the message instead.
 */
export function sendVerifyPage(res: Response, { status, message, brand, pages, log }: VerifyPage): void {
  let html: string;
  try {
    html = pages.renderVerifyResponse(brand, { message });
  } catch (err) {
    log.error({ err, brand }, 'verify_response_template.html failed to render');
    html = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Verification</title></head><body><p>${escapeHtml(message)}</p></body></html>\n`;
  }
  res.status(status).set(PAGE_HEADERS).set('Content-Type', 'text/html; charset=utf-8').send(html);
}

/**
 * A Location header value for a stored next_link: the link exactly as given when it is printable
 * ASCII (the usual case), else its percent-encoded form, since a header cannot carry other characters.
 */
export function locationOf(nextLink: string): string {
  return /^[\x21-\x7e]+$/.test(nextLink) ? nextLink : new URL(nextLink).href;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
