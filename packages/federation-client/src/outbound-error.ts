import { TesseraError } from '@tessera/errors';

/** Why an outbound request failed; the federation client turns these into the errors clients see. */
export type OutboundFailure =
  | 'refused' // every address of the host is in a range the guard refuses
  | 'unresolvable' // no address at all
  | 'timeout'
  | 'aborted' // the caller gave the request up before it ended (a service stopping)
  | 'tls' // handshake or certificate failure
  | 'connect' // refused, reset, unreachable network
  | 'too-large' // the body exceeds the size limit
  | 'not-json'
  | 'unexpected-reply' // a status or body the protocol does not allow
  | 'redirect'; // a redirect we do not follow (too many, or not to https)

/**
 * A failed request to another server: 502, the fault is upstream, never ours (500).
 * Messages name the host and port, never the path: query strings carry access tokens.
 */
export class OutboundError extends TesseraError {
  readonly failure: OutboundFailure;

  constructor(failure: OutboundFailure, message: string, options: { cause?: unknown } = {}) {
    super('M_UNKNOWN', message, { httpStatus: 502, cause: options.cause });
    this.failure = failure;
  }
}

/**
 * The homeserver could not vouch for a token, through no fault of ours. A server name that leads
 * only to addresses the guard refuses (loopback, private ranges) is the caller's bad input: 400
 * M_INVALID_PARAM, the same answer whatever the name, so that it tells nothing about the network
 * behind us. Anything else (unreachable, a reply that is no use) is upstream's fault: 502 M_UNKNOWN.
 * The messages name nothing; `failure` and `reason` (host and port, never a path) are for the
 * caller's log.
 */
export class HomeserverFailure extends TesseraError {
  readonly serverName: string;
  readonly failure: OutboundFailure | 'internal';
  readonly reason: string;

  constructor(serverName: string, err: unknown) {
    const failure = err instanceof OutboundError ? err.failure : 'internal';
    if (failure === 'refused') {
      super('M_INVALID_PARAM', 'matrix_server_name does not name a reachable public homeserver', { cause: err });
    } else {
      const message = BAD_REPLY_FAILURES.has(failure) ? 'invalid reply from the homeserver' : 'homeserver unreachable';
      super('M_UNKNOWN', message, { httpStatus: 502, cause: err });
    }
    this.serverName = serverName;
    this.failure = failure;
    this.reason = err instanceof Error ? err.message : String(err);
  }
}

const BAD_REPLY_FAILURES: ReadonlySet<string> = new Set(['too-large', 'not-json', 'unexpected-reply']);
