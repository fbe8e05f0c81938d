import { TesseraError } from '@tessera/errors';
import type { UnbindRequest } from '@tessera/proto/tessera/directory/v1/directory';
import { parseClientSecret, parseSid, parseUserId } from '@tessera/spec-params';
import type { Request } from 'express';
import { bodyParams, type Params } from '../params.js';
import type { DirectoryRouteDeps } from './directory-deps.js';
import { onEachTree, type Route } from './route.js';
import { threepidOf } from './threepid.js';

const X_MATRIX = /^X-Matrix\s/i;

/**
 * POST 3pid/bind and 3pid/unbind on both trees. Bind on v2 needs a token, accepted terms, and
 * `mxid` must be the token's user (403 M_UNAUTHORIZED otherwise, as Sydent answers). Unbind takes
 * no token on either tree (as Sydent): it is proved by the session that validated the 3PID, or by
 * the homeserver's X-Matrix signature, which the directory verifies.
 */
export function bindRoutes({ directory, auth }: DirectoryRouteDeps): Route[] {
  return [
    ...onEachTree('POST', '/3pid/bind', (tree) => async (req, res) => {
      const caller = tree === 'v2' ? await auth(req, { terms: true }) : undefined;
      const params = bodyParams(req, tree);
      const sid = parseSid(params.requiredString('sid'));
      const clientSecret = parseClientSecret(params.requiredString('client_secret'));
      const mxid = parseUserId(params.requiredString('mxid'));
      if (caller !== undefined && caller.userId !== mxid)
        throw new TesseraError('M_UNAUTHORIZED', 'this user may not bind a 3PID to another user', { httpStatus: 403 });
      const { associationJson } = await directory.bind({ sid, clientSecret, mxid });
      // Canonical JSON as signed and stored: sent as it is, never parsed and written again.
      res.type('application/json').send(associationJson);
    }),
    ...onEachTree('POST', '/3pid/unbind', (tree) => async (req, res) => {
      const params = bodyParams(req, tree);
      const mxid = parseUserId(params.requiredString('mxid'));
      const threepid = params.requiredObject('threepid');
      const { medium, address } = threepidOf(threepid.requiredString('medium'), threepid.requiredString('address'));
      await directory.unbind({ medium, address, mxid, proof: proofOf(req, params) });
      res.json({});
    }),
  ];
}

/** The session proof when both sid and client_secret are given, else the homeserver's signature. */
function proofOf(req: Request, params: Params): UnbindRequest['proof'] {
  const sid = params.optionalString('sid');
  const clientSecret = params.optionalString('client_secret');
  if (sid !== undefined && clientSecret !== undefined)
    return { $case: 'session', value: { sid: parseSid(sid), clientSecret: parseClientSecret(clientSecret) } };
  const authorization = req.headersDistinct.authorization ?? [];
  if (!authorization.some((header) => X_MATRIX.test(header)))
    throw new TesseraError('M_FORBIDDEN', 'unbind needs sid and client_secret, or a homeserver X-Matrix signature');
  const signed = { method: req.method, uri: req.originalUrl, authorization, contentJson: JSON.stringify(req.body) };
  return { $case: 'homeserver', value: signed };
}
