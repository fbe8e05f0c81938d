import {
  type FederationClient,
  OutboundError,
  type OutboundFailure,
  type SendOptions,
} from '@tessera/federation-client';
import type { OnbindMethod } from '../domain/onbind-delivery.js';

/** Where a homeserver takes onbind calls (server-server API, third-party invites). */
export const ONBIND_PATH = '/_matrix/federation/v1/3pid/onbind';

export type CallOutcome =
  | { delivered: true; method: OnbindMethod }
  | {
      delivered: false;
      /** Recorded in the stream and logged: names no host, address, user or token. */
      reason: string;
      /** The homeserver's status; 0 when it gave none. */
      httpStatus: number;
      /** Why no later try can do better as things stand (the name does not resolve, the guard refuses it), for the log. */
      hopeless?: string;
      /** Cut short by this notifier stopping: no fault of the homeserver's. */
      interrupted?: true;
    };

// What each outbound failure is called in the stream: OutboundError's own messages name the host.
const FAILURE_REASONS: Record<OutboundFailure, string> = {
  refused: 'refused by the outbound guard',
  unresolvable: 'the homeserver does not resolve',
  timeout: 'timed out',
  aborted: 'given up: the notifier stopped',
  tls: 'TLS failed',
  connect: 'connection failed',
  'too-large': 'the reply is too large',
  'not-json': 'unusable reply',
  'unexpected-reply': 'unusable reply',
  redirect: 'unusable reply',
};

const HOPELESS: Partial<Record<OutboundFailure, string>> = {
  refused: 'every address of the homeserver is in a range the outbound guard refuses (TESSERA_OUTBOUND_ALLOW)',
  unresolvable: 'the homeserver name has no address (no such server)',
};

/**
 * One attempt at an onbind call: POST, as Sydent sends and Synapse serves; once more with PUT
 * when POST answers 404 or 405, as the spec says PUT (matrix-spec#524). 200 delivers it; any
 * other answer, or none, is a failure to try again later. `options`: the call's own deadline
 * (TESSERA_ONBIND_TIMEOUT_MS) and the signal that gives it up when the notifier stops.
 */
export async function callHomeserver(
  federation: Pick<FederationClient, 'sendJson'>,
  { destination, bodyJson }: { destination: string; bodyJson: string },
  options: SendOptions,
): Promise<CallOutcome> {
  let method: OnbindMethod = 'POST';
  const send = () => federation.sendJson(destination, { method, path: ONBIND_PATH, json: bodyJson }, options);
  try {
    let { status } = await send();
    if (status === 404 || status === 405) {
      method = 'PUT';
      ({ status } = await send());
    }
    if (status === 200) return { delivered: true, method };
    return { delivered: false, reason: `${method} answered HTTP ${status}`, httpStatus: status };
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    const hopeless = HOPELESS[err.failure];
    return {
      delivered: false,
      reason: `${method}: ${FAILURE_REASONS[err.failure]}`,
      httpStatus: 0,
      ...(hopeless === undefined ? {} : { hopeless }),
      ...(err.failure === 'aborted' ? { interrupted: true } : {}),
    };
  }
}
