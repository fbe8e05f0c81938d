import { SmsRefused, SmsUnavailable } from './sms-provider.js';

export type ProviderRequest = {
  /** Who is asked, for the messages of errors: "Twilio", "OpenMarket". */
  provider: string;
  url: string;
  username: string;
  password: string;
  contentType: string;
  body: string;
  timeoutMs: number;
};

export type ProviderResponse = { status: number; headers: Headers; body: unknown };

/**
 * POSTs to an SMS provider's API with HTTP Basic auth and sorts the answer: a 2xx comes back with
 * its JSON body (null when there is none); no answer, a timeout, a 5xx, a 408 or a 429 throws
 * SmsUnavailable; any other status throws SmsRefused, with `detail(body)` appended (the
 * provider's numeric error code; never its text, which may quote the number).
 */
export async function postToProvider(
  request: ProviderRequest,
  detail: (body: unknown) => string | undefined = () => undefined,
): Promise<ProviderResponse> {
  const { provider, url, username, password, contentType, body, timeoutMs } = request;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`,
        'content-type': contentType,
        accept: 'application/json',
      },
      body,
      redirect: 'manual', // an API that redirects a POST is misconfigured; following would resend the body
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new SmsUnavailable(`${provider} could not be reached (${networkErrorCode(err)})`, { cause: err });
  }
  const parsed = await readJson(response);
  const { status } = response;
  if (status >= 200 && status < 300) return { status, headers: response.headers, body: parsed };
  if (status >= 500 || status === 408 || status === 429 || (status >= 300 && status < 400))
    throw new SmsUnavailable(`${provider} answered HTTP ${status}`);
  const extra = detail(parsed);
  throw new SmsRefused(`${provider} refused the message: HTTP ${status}${extra ? `, ${extra}` : ''}`);
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

function networkErrorCode(err: unknown): string {
  const error = err as { name?: string; cause?: { code?: unknown } };
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') return 'timeout';
  const code = error?.cause?.code;
  return typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code) ? code : 'network error';
}
