import { parseTokenType } from '@tessera/spec-params';
import { requireAccessToken } from '../auth.js';
import { bodyParams } from '../params.js';
import type { Route } from './route.js';
import { onV2 } from './route.js';
import type { SessionRouteDeps } from './session-deps.js';

/** v2 accounts: register with OpenID credentials, who am I, logout. v1 has none of them. */
export function accountRoutes({ session, auth }: SessionRouteDeps): Route[] {
  return [
    // No auth: this is how a token is obtained. The session service checks the credentials with
    // the homeserver; the gateway checks only their shape. token_type and expires_in may be left
    // out, as older clients and matrix-is-tester do (Sydent reads neither).
    onV2(
      'POST',
      '/account/register',
      {
        handler: async (req, res) => {
          const params = bodyParams(req, 'v2');
          const { token } = await session.registerAccount({
            accessToken: params.requiredString('access_token'),
            tokenType: parseTokenType(params.optionalString('token_type')),
            matrixServerName: params.requiredString('matrix_server_name'),
            expiresIn: params.optionalCount('expires_in'),
          });
          // `access_token` too, the same value, as Sydent sends it for clients of older drafts.
          res.json({ token, access_token: token });
        },
      },
      'json',
    ),
    onV2('GET', '/account', {
      handler: async (req, res) => {
        const { userId } = await auth(req, { terms: true });
        res.json({ user_id: userId });
      },
    }),
    // No terms check (a user must always be able to leave) and no Authenticate call: the session
    // service answers 401 M_UNKNOWN_TOKEN for a token it does not know, as the spec asks.
    onV2(
      'POST',
      '/account/logout',
      {
        handler: async (req, res) => {
          await session.logout({ token: requireAccessToken(req) });
          res.json({});
        },
      },
      'optional-json',
    ),
  ];
}
