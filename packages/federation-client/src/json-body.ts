import type { HttpsResponse } from './guarded-request.js';
import { OutboundError } from './outbound-error.js';

/** The JSON of a reply; a body that is not JSON is the other server's fault (502), not a crash. */
export function parseJsonBody(response: HttpsResponse): unknown {
  try {
    return JSON.parse(response.body.toString('utf8')) as unknown;
  } catch (err) {
    throw new OutboundError('not-json', `the reply from ${response.from} is not JSON`, { cause: err });
  }
}
