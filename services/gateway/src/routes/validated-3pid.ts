import { mediumFromGrpc, parseClientSecret, parseSid } from '@tessera/spec-params';
import { queryParams } from '../params.js';
import type { Route } from './route.js';
import { onEachTree } from './route.js';
import type { SessionRouteDeps } from './session-deps.js';

/** GET 3pid/getValidated3pid on both trees (v2: token and accepted terms): `{medium, address, validated_at}`. */
export function validated3pidRoutes({ session, auth }: SessionRouteDeps): Route[] {
  return onEachTree('GET', '/3pid/getValidated3pid', (tree) => async (req, res) => {
    if (tree === 'v2') await auth(req, { terms: true });
    const params = queryParams(req);
    const sid = parseSid(params.requiredString('sid'));
    const clientSecret = parseClientSecret(params.requiredString('client_secret'));
    const { medium, address, validatedAt } = await session.getValidated3Pid({ sid, clientSecret });
    const name = mediumFromGrpc(medium);
    if (name === null) throw new Error(`GetValidated3pid answered medium ${medium}`);
    res.json({ medium: name, address, validated_at: Number(validatedAt) });
  });
}
