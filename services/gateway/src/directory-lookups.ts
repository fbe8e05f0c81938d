import { isErrCode, TesseraError } from '@tessera/errors';
import type {
  DirectoryServiceClient,
  HashDetailsResponse,
  HashedAnswer,
  HashedQuery,
  LookupResult,
  QueryError,
  Threepid,
} from '@tessera/proto/tessera/directory/v1/directory';
import type { DeadlineClient } from '@tessera/service-kit';
import { coalesce } from './coalesce.js';

export type DirectoryPort = DeadlineClient<DirectoryServiceClient>;

/** One request's 3PIDs, and whether it needs only the bound users (bulk_lookup). */
type LookupItem = { threepids: Threepid[]; mxidOnly: boolean };

/** The directory's lookups as each request sees them, however many share one call. */
export interface DirectoryLookups {
  /** v1 lookup: a result per 3PID, in order. */
  lookup(threepids: Threepid[]): Promise<LookupResult[]>;
  /** v1 bulk_lookup: the user bound to each 3PID ("" where none), in order; no signed JSON. */
  lookupMxids(threepids: Threepid[]): Promise<string[]>;
  /** v2 lookup: the user bound to each address ("" where none), or this query's own Matrix error. */
  hashedLookup(query: HashedQuery): Promise<string[]>;
  hashDetails(): Promise<HashDetailsResponse>;
}

/**
 * Most 3PIDs or addresses one call carries: a call is one query on the read model and one answer
 * in memory on both sides. A single request over it (a large bulk_lookup) goes alone.
 */
export const MAX_BATCH_ITEMS = 4096;

/**
 * Lookups coalesced (see coalesce.ts): the requests that arrive together, or while a call of the
 * same kind is under way, share one gRPC call; each gets its own part of the answer.
 */
export function coalescedLookups(
  directory: Pick<DirectoryPort, 'lookup' | 'hashedLookup' | 'hashDetails'>,
  { maxBatchItems = MAX_BATCH_ITEMS }: { maxBatchItems?: number } = {},
): DirectoryLookups {
  // v1 lookups and bulk_lookups share calls; a call asks for the mxids only when none of its
  // requests needs the signed JSON (most of the answer's bytes).
  const lookup = coalesce(
    async (requests: LookupItem[]) => {
      const mxidOnly = requests.every((request) => request.mxidOnly);
      const { results } = await directory.lookup({
        threepids: requests.flatMap(({ threepids }) => threepids),
        mxidOnly,
      });
      if (results.length !== requests.reduce((sum, { threepids }) => sum + threepids.length, 0))
        throw new Error('the directory answered a lookup with the wrong number of results');
      let start = 0;
      return requests.map(({ threepids }) => {
        const end = start + threepids.length;
        const own = results.slice(start, end);
        start = end;
        return own;
      });
    },
    { maxBatchWeight: maxBatchItems, weightOf: ({ threepids }) => threepids.length },
  );
  const hashedLookup = coalesce(async (queries: HashedQuery[]) => (await directory.hashedLookup({ queries })).answers, {
    maxBatchWeight: maxBatchItems,
    weightOf: (query) => query.addresses.length,
  });
  // Every waiter gets the same answer: the pepper is one for all.
  const hashDetails = coalesce(
    async (waiters: undefined[]) => {
      const details = await directory.hashDetails({});
      return waiters.map(() => details);
    },
    { maxBatchWeight: Number.POSITIVE_INFINITY },
  );
  return {
    lookup: async (threepids) => (threepids.length === 0 ? [] : lookup({ threepids, mxidOnly: false })),
    lookupMxids: async (threepids) =>
      threepids.length === 0 ? [] : (await lookup({ threepids, mxidOnly: true })).map(({ mxid }) => mxid),
    hashedLookup: async (query) => mxidsOf(await hashedLookup(query), query.addresses.length),
    hashDetails: () => hashDetails(undefined),
  };
}

function mxidsOf({ outcome }: HashedAnswer, expected: number): string[] {
  if (outcome?.$case === 'error') throw queryRefusal(outcome.value);
  if (outcome?.$case !== 'mappings' || outcome.value.mxids.length !== expected)
    throw new Error('the directory answered a hashed lookup without a mapping per address');
  return outcome.value.mxids;
}

/**
 * A query's refusal as the client gets it: 400 with its errcode (M_TOO_LARGE too, as Sydent
 * answers it here); M_INVALID_PEPPER carries what hash_details would answer now, as Sydent does.
 */
function queryRefusal({ errcode, error, lookupPepper, algorithm }: QueryError): Error {
  // Not the client's doing: a 500, logged by sendError.
  if (!isErrCode(errcode)) return new Error(`the directory refused a hashed lookup with errcode ${errcode}`);
  const extra = errcode === 'M_INVALID_PEPPER' ? { algorithm, lookup_pepper: lookupPepper } : undefined;
  return new TesseraError(errcode, error, { httpStatus: 400, ...(extra === undefined ? {} : { extra }) });
}
