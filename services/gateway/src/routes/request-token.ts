import { clientLowercaseEmail, normalizeEmail, normalizeMsisdn } from '@tessera/addresses';
import { isServiceError, toMatrixError } from '@tessera/errors';
import type { RequestTokenRequest } from '@tessera/proto/tessera/session/v1/session';
import { brandOf, type Medium, mediumToGrpc, parseClientSecret, parseNextLink } from '@tessera/spec-params';
import type { Request, Response } from 'express';
import { rateLimitSubjectOf } from '../client-ip.js';
import { bodyParams, type Params } from '../params.js';
import type { RateLimitKeys } from '../request-limits.js';
import type { Route, Tree } from './route.js';
import { onEachTree } from './route.js';
import type { SessionRouteDeps } from './session-deps.js';

type Attempt = Omit<RequestTokenRequest, 'medium' | 'brand' | 'clientIp' | 'accessToken'> & { medium: Medium };
/** v1 callers are anonymous; v2 callers are a user, with the token the session service checks. */
type Caller = { tree: 'v1' } | { tree: 'v2'; userId: string; accessToken: string };

/** send_attempt and the optional next_link (http(s) only; empty or absent: none). */
function attemptFields(params: Params): Pick<Attempt, 'sendAttempt' | 'nextLink'> {
  const sendAttempt = params.sendAttempt();
  const nextLink = parseNextLink(params.optionalString('next_link'));
  return { sendAttempt, nextLink: nextLink ?? '' };
}

/**
 * POST validate/{email,msisdn}/requestToken on both trees. v2 needs a token and accepted terms;
 * the address is normalised here (the session service receives only normalised addresses); the
 * request is counted against the rate limits (v1 per client IP, v2 per user; SMS also per number
 * and per country) before the session service sends anything.
 */
export function requestTokenRoutes({
  session,
  users,
  clientIpOf,
  gate,
  requestTokenDeadlineMs,
}: SessionRouteDeps): Route[] {
  /** Starts or repeats the attempt; resolves to the session's sid. */
  const send = async (req: Request, res: Response, caller: Caller, attempt: Attempt): Promise<string> => {
    const clientIp = clientIpOf(req);
    const byNumber = attempt.medium === 'msisdn' ? { msisdn: attempt.address, country: attempt.country } : {};
    // v1 callers are known by their address only; v2 callers by their user, wherever they are.
    const who: RateLimitKeys = caller.tree === 'v1' ? { ip: rateLimitSubjectOf(clientIp) } : { user: caller.userId };
    await gate(res, { ...who, ...byNumber });
    const brand = brandOf(req.query.brand) ?? '';
    const accessToken = caller.tree === 'v2' ? caller.accessToken : '';
    try {
      const request = { ...attempt, medium: mediumToGrpc(attempt.medium), brand, clientIp, accessToken };
      const { sid } = await session.requestToken(request, { deadlineMs: requestTokenDeadlineMs });
      return sid;
    } catch (err) {
      if (caller.tree === 'v2' && isServiceError(err) && toMatrixError(err).body.errcode === 'M_UNAUTHORIZED')
        users.forget(accessToken);
      throw err;
    }
  };
  const callerOf = async (req: Request, tree: Tree): Promise<Caller> =>
    tree === 'v2' ? { tree, ...(await users.callerOf(req)) } : { tree };

  return [
    ...onEachTree('POST', '/validate/email/requestToken', (tree) => async (req, res) => {
      const caller = await callerOf(req, tree);
      const params = bodyParams(req, tree);
      const clientSecret = parseClientSecret(params.requiredString('client_secret'));
      const typed = params.requiredString('email');
      const address = normalizeEmail(typed);
      // What Element's matrix-js-sdk will hash for this address, kept (sealed) for the directory.
      const clientLowercaseAddress = clientLowercaseEmail(typed) ?? '';
      const attempt = { medium: 'email' as const, address, clientLowercaseAddress, country: '', clientSecret };
      res.json({ sid: await send(req, res, caller, { ...attempt, ...attemptFields(params) }) });
    }),
    ...onEachTree('POST', '/validate/msisdn/requestToken', (tree) => async (req, res) => {
      const caller = await callerOf(req, tree);
      const params = bodyParams(req, tree);
      const clientSecret = parseClientSecret(params.requiredString('client_secret'));
      const country = params.requiredString('country');
      const phoneNumber = params.requiredString('phone_number');
      const { msisdn, country: region, international } = normalizeMsisdn({ phoneNumber, country });
      const attempt = {
        medium: 'msisdn' as const,
        address: msisdn,
        clientLowercaseAddress: '',
        country: region,
        clientSecret,
      };
      const sid = await send(req, res, caller, { ...attempt, ...attemptFields(params) });
      // Sydent's answer, beyond the spec's {sid}: matrix-js-sdk types it so, and Element shows the
      // number the code went to from `msisdn` (Synapse hands this answer on when it delegates SMS).
      res.json({ sid, success: true, msisdn, intl_fmt: international });
    }),
  ];
}
