import type { AccountImport } from '@tessera/admin-imports';
import { TesseraError } from '@tessera/errors';
import { type DataKeys, type EventStore, handleCommand, loadState } from '@tessera/event-store';
import type { Secrets } from '@tessera/server-secret';
import { accountOf } from '../aggregates.js';
import { TokenAlreadyRegistered } from '../domain/account.js';
import { storedAccounts, USER_ID_FIELD } from '../events/account-events.js';
import { checkUserId, serverOfUserId } from '../grpc/request-checks.js';
import { fieldsOf, IMPORTED, type ImportItem, millisecondsOf, PRESENT, stringOf } from './import-batch.js';

export type AccountImportDeps = { store: EventStore; dataKeys: DataKeys; secrets: Secrets };

// Sydent makes 64 letters and digits; any printable token of a sane length is taken, since only
// its hash is kept and a bearer token is compared as it is.
const ACCESS_TOKEN = /^[\x21-\x7e]{1,255}$/;

/**
 * `import/accounts`: each token's account registered as RegisterAccount writes it (the user ID
 * sealed with the account's data key, its keyed pseudonym, the server name), at `createdTs`.
 * `present`, with nothing written (no data key either), when the token's account exists, logged
 * out or not.
 */
export function accountImporter({ store, dataKeys, secrets }: AccountImportDeps): ImportItem {
  return async (item) => {
    const { token, userId, createdTs } = parseAccountImport(item);
    const { subject, aggregate } = accountOf(token);
    const loaded = await loadState(store, subject, storedAccounts);
    if (loaded.state.status !== 'none') return PRESENT;
    await dataKeys.createKey(aggregate);
    const holder = {
      sealedUserId: await dataKeys.sealField(aggregate, USER_ID_FIELD, userId),
      userKey: secrets.userKey(userId),
    };
    const matrixServerName = serverOfUserId(userId) as string; // checked by parseAccountImport
    const register = { type: 'RegisterAccount', holder, matrixServerName, now: createdTs } as const;
    try {
      await handleCommand(store, subject, storedAccounts, register, { assume: loaded });
    } catch (err) {
      // The same token imported by a request running beside this one, which got there first.
      if (err instanceof TokenAlreadyRegistered) return PRESENT;
      throw err;
    }
    return IMPORTED;
  };
}

function parseAccountImport(item: unknown): Omit<AccountImport, 'createdTs'> & { createdTs: Date } {
  const { token, userId, createdTs } = fieldsOf(item);
  if (!ACCESS_TOKEN.test(stringOf(token, 'token')))
    throw new TesseraError('M_INVALID_PARAM', 'token must be 1 to 255 printable ASCII characters');
  return {
    token: token as string,
    userId: checkUserId(stringOf(userId, 'userId')),
    createdTs: millisecondsOf(createdTs, 'createdTs'),
  };
}
