import { brandOf, type Medium, parseClientSecret, parseSid, parseValidationToken } from '@tessera/spec-params';
import type { Request, Response } from 'express';
import { bodyParams, type Params, queryParams } from '../params.js';
import { matrixErrorFor } from '../send-error.js';
import { failureMessage, locationOf, SUCCESS_MESSAGE, sendVerifyPage } from '../verify-page.js';
import type { Route } from './route.js';
import { onBothTrees, onEachTree } from './route.js';
import type { SessionRouteDeps } from './session-deps.js';

function submission(params: Params) {
  return {
    sid: parseSid(params.requiredString('sid')),
    clientSecret: parseClientSecret(params.requiredString('client_secret')),
    token: parseValidationToken(params.requiredString('token')),
  };
}

/**
 * validate/{email,msisdn}/submitToken on both trees.
 * - POST (for clients): JSON `{success}`; v2 needs a token and accepted terms; next_link is ignored.
 * - GET (the link in the mail, opened in the user's browser, which holds no token): no auth on
 *   either tree; success redirects (302) to the next_link given at requestToken, or shows the
 *   brand's page; a failure shows the page with the errcode's 4xx status. Always HTML, never JSON.
 */
export function submitTokenRoutes({ session, auth, pages, log }: SessionRouteDeps): Route[] {
  const page = (medium: Medium) => async (req: Request, res: Response) => {
    const brand = brandOf(req.query.brand);
    try {
      const { success, nextLink } = await session.submitToken(submission(queryParams(req)));
      if (!success) throw new Error('SubmitToken answered success: false');
      if (nextLink !== '') res.set('Location', locationOf(nextLink));
      sendVerifyPage(res, { status: nextLink === '' ? 200 : 302, message: SUCCESS_MESSAGE, brand, pages, log });
    } catch (err) {
      const { status, body } = matrixErrorFor(err, log);
      const message = failureMessage(medium, status, body.errcode, body.error);
      sendVerifyPage(res, { status, message, brand, pages, log });
    }
  };

  return (['email', 'msisdn'] as const).flatMap((medium) => [
    ...onEachTree('POST', `/validate/${medium}/submitToken`, (tree) => async (req, res) => {
      if (tree === 'v2') await auth(req, { terms: true });
      const { success } = await session.submitToken(submission(bodyParams(req, tree)));
      res.json({ success });
    }),
    ...onBothTrees('GET', `/validate/${medium}/submitToken`, { handler: page(medium) }),
  ]);
}
