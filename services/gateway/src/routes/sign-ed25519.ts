import { parseUserId } from '@tessera/spec-params';
import type { RequestHandler } from 'express';
import { bodyParams } from '../params.js';
import type { InviteRouteDeps } from './invite-deps.js';
import type { Tree } from './route.js';

/**
 * POST sign-ed25519: the invite service signs {mxid, sender, token} with the ephemeral seed the
 * caller sends (the one mailed with the invite); an unknown token is its 404 M_UNRECOGNIZED. The
 * signed JSON is answered as the service made it.
 */
export function signEd25519Handler(
  { invite, auth }: Pick<InviteRouteDeps, 'invite' | 'auth'>,
  tree: Tree,
): RequestHandler {
  return async (req, res) => {
    if (tree === 'v2') await auth(req, { terms: true });
    const params = bodyParams(req, tree);
    const mxid = params.requiredString('mxid');
    const token = params.requiredString('token');
    const privateKey = plusesRestored(params.requiredString('private_key'));
    const { signedJson } = await invite.signEd25519({ mxid: parseUserId(mxid), token, privateKey });
    res.type('application/json').send(signedJson);
  };
}

/**
 * The mailed seed, mended. Seeds used to be mailed in standard base64, and a link's `+` that
 * reaches us unescaped in a query string or form body (Element decodes the link once before it
 * posts to it) is read as a space. Base64 has no spaces, so each one was a `+`.
 */
function plusesRestored(privateKey: string): string {
  return privateKey.replaceAll(' ', '+');
}
