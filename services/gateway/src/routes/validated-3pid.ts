import { Medium } from '@tessera/proto/tessera/session/v1/session';
import { queryParams } from '../params.js';
import { validClientSecret, validSid } from '../validate.js';
import type { Route } from './route.js';
import { onEachTree } from './route.js';
import type { SessionRouteDeps } from './session-deps.js';

const MEDIUM_NAMES: Partial<Record<Medium, 'email' | 'msisdn'>> = {
  [Medium.MEDIUM_EMAIL]: 'email',
  [Medium.MEDIUM_MSISDN]: 'msisdn',
};

/** GET 3pid/getValidated3pid on both trees (v2: token and accepted terms): `{medium, address, validated_at}`. */
export function validated3pidRoutes({ session, auth }: SessionRouteDeps): Route[] {
  return onEachTree('GET', '/3pid/getValidated3pid', (tree) => async (req, res) => {
    if (tree === 'v2') await auth(req, { terms: true });
    const params = queryParams(req);
    const sid = validSid(params.requiredString('sid'));
    const clientSecret = validClientSecret(params.requiredString('client_secret'));
    const { medium, address, validatedAt } = await session.getValidated3Pid({ sid, clientSecret });
    const name = MEDIUM_NAMES[medium];
    if (name === undefined) throw new Error(`GetValidated3pid answered medium ${medium}`);
    res.json({ medium: name, address, validated_at: Number(validatedAt) });
  });
}
