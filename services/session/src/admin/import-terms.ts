import type { TermsImport } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import { type EventStore, handleCommand } from '@tessera/event-store';
import type { Secrets } from '@tessera/server-secret';
import type { Clock } from '@tessera/service-kit';
import type { AggregateCache } from '../aggregate-cache.js';
import { termsSubject } from '../aggregates.js';
import type { Terms } from '../domain/terms.js';
import { checkUserId } from '../grpc/request-checks.js';
import { userAcceptances } from '../grpc/terms-history.js';
import { fieldsOf, IMPORTED, type ImportItem, PRESENT, stringOf } from './import-batch.js';

export type TermsImportDeps = { store: EventStore; secrets: Secrets; now: Clock; termsStates: AggregateCache<Terms> };

const MAX_URLS = 100;
const MAX_URL_CHARS = 2_048;

/**
 * `import/terms`: the URLs a user accepted there and not yet here, as one TermsAccepted (any URL:
 * that history may name older policies). `present` when none is new. Whether the user has signed
 * is then the rule every acceptance follows (allAccepted: each current policy in some language).
 */
export function termsImporter({ store, secrets, now, termsStates }: TermsImportDeps): ImportItem {
  return async (item) => {
    const { userId, urls } = parseTermsImport(item);
    const userKey = secrets.userKey(userId);
    const subject = termsSubject(userKey);
    const command = { type: 'ImportAcceptances', userKey, urls, now: now() } as const;
    try {
      const { events } = await handleCommand(store, subject, await userAcceptances(store, userId), command);
      return events.length === 0 ? PRESENT : IMPORTED;
    } finally {
      termsStates.invalidate(subject); // at once here; other replicas drop it when the append reaches them
    }
  };
}

function parseTermsImport(item: unknown): TermsImport {
  const { userId, urls } = fieldsOf(item);
  const valid =
    Array.isArray(urls) &&
    urls.length <= MAX_URLS &&
    urls.every((url) => typeof url === 'string' && url !== '' && url.length <= MAX_URL_CHARS);
  if (!valid)
    throw new TesseraError(
      'M_INVALID_PARAM',
      `urls must be at most ${MAX_URLS} URLs of 1 to ${MAX_URL_CHARS} characters`,
    );
  return { userId: checkUserId(stringOf(userId, 'userId')), urls: urls as string[] };
}
