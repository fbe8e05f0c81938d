import { bodyParams } from '../params.js';
import type { Route } from './route.js';
import { onV2 } from './route.js';
import type { SessionRouteDeps } from './session-deps.js';

/** v2 terms of service: the current policies (no auth), and accepting some of them (auth, no terms check). */
export function termsRoutes({ session, auth }: SessionRouteDeps): Route[] {
  return [
    onV2('GET', '/terms', {
      handler: async (_req, res) => {
        const { policiesJson } = await session.getTerms({});
        const policies: unknown = JSON.parse(policiesJson === '' ? '{}' : policiesJson);
        res.json({ policies });
      },
    }),
    onV2(
      'POST',
      '/terms',
      {
        handler: async (req, res) => {
          const { userId } = await auth(req, { terms: false });
          const userAccepts = bodyParams(req, 'v2').requiredStringArray('user_accepts');
          await session.acceptTerms({ userId, userAccepts });
          res.json({});
        },
      },
      'json',
    ),
  ];
}
