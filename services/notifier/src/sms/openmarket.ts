import { postToProvider } from './provider-request.js';
import type { SmsProvider } from './sms-provider.js';

export const OPENMARKET_DEFAULT_URL = 'https://smsc.openmarket.com';

export type OpenMarketOptions = {
  /** TESSERA_SMS_URL: OpenMarket's API or a compatible one. */
  baseUrl?: string | undefined;
  /** TESSERA_SMS_USERNAME and TESSERA_SMS_PASSWORD: the API account. */
  username: string;
  password: string;
  /** TESSERA_SMS_FROM: the source address (a number or an alphanumeric sender). */
  from: string;
  timeoutMs?: number;
};

/**
 * OpenMarket's SMS v4 API: POST /sms/v4/mt with a JSON `mobileTerminate` (source address,
 * destination `+E164`, text content), Basic auth. Accepted is 200 or 202. The ticket id that
 * identifies the message comes from the `X-Request-Id` response header, or, when a compatible
 * service sends no such header, from a `ticketId` in the JSON body; otherwise none is recorded.
 */
export function createOpenMarketProvider({
  baseUrl = OPENMARKET_DEFAULT_URL,
  username,
  password,
  from,
  timeoutMs = 10_000,
}: OpenMarketOptions): SmsProvider {
  const url = `${baseUrl.replace(/\/+$/, '')}/sms/v4/mt`;
  return {
    async send({ to, body }) {
      const mobileTerminate = {
        source: { address: from },
        destination: { address: `+${to}` },
        message: { content: body, type: 'text' },
      };
      const response = await postToProvider(
        {
          provider: 'OpenMarket',
          url,
          username,
          password,
          contentType: 'application/json',
          body: JSON.stringify({ mobileTerminate }),
          timeoutMs,
        },
        (answer) => {
          const code = (answer as { error?: { code?: unknown } } | null)?.error?.code;
          return typeof code === 'number' ? `OpenMarket error ${code}` : undefined;
        },
      );
      const header = response.headers.get('x-request-id');
      const ticketId = (response.body as { ticketId?: unknown } | null)?.ticketId;
      if (header) return { messageId: header };
      return typeof ticketId === 'string' ? { messageId: ticketId } : {};
    },
  };
}
