// The bind, unbind and lookup routes over a real HTTP server, with the directory port faked in
// memory (its calls recorded, each answer scriptable) and the fake session of session-fixture.ts
// answering the token checks. The real coalescing sits between the routes and the fake.
import type {
  BindRequest,
  HashedAnswer,
  HashedLookupRequest,
  LookupRequest,
  LookupResult,
  UnbindRequest,
} from '@tessera/proto/tessera/directory/v1/directory';
import { authenticator } from '../src/auth.js';
import { coalescedLookups, type DirectoryLookups, type DirectoryPort } from '../src/directory-lookups.js';
import { directoryRoutes } from '../src/routes/directory-routes.js';
import { type Handlers, recordingPort } from './recording-port.js';
import { fakeSession, serveRoutes } from './session-fixture.js';

export const PEPPER = 'matrixrocks';

/** A signed association as the directory stores it: canonical JSON (keys sorted, no spaces). */
export const associationJson = (address: string, mxid: string) =>
  `{"address":"${address}","medium":"email","mxid":"${mxid}","not_after":4582425849161,"not_before":1428825849161,"signatures":{"example.org":{"ed25519:0":"c2lnbmF0dXJl"}},"ts":1428825849161}`;

/** What the fake directory knows: bindings by "<medium wire value> <address>", users by hash. */
const BOUND: Record<string, string> = {
  '1 alice@example.org': '@alice:example.org',
  '2 447400123456': '@bob:example.org',
};
const HASHED: Record<string, string> = {
  '4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc': '@alice:example.org', // alice@example.org email matrixrocks
};

type Calls = {
  bind: BindRequest;
  unbind: UnbindRequest;
  lookup: LookupRequest;
  hashedLookup: HashedLookupRequest;
  hashDetails: Record<string, never>;
};
type Answers = {
  bind: { associationJson: string };
  unbind: Record<string, never>;
  lookup: { results: LookupResult[] };
  hashedLookup: { answers: HashedAnswer[] };
  hashDetails: { lookupPepper: string; algorithms: string[] };
};
const DEFAULTS: Handlers<Calls, Answers> = {
  bind: async ({ mxid }) => ({ associationJson: associationJson('alice@example.org', mxid) }),
  unbind: async () => ({}),
  lookup: async ({ threepids, mxidOnly }) => ({
    results: threepids.map(({ medium, address }) => {
      const mxid = BOUND[`${medium} ${address}`] ?? '';
      return { mxid, associationJson: mxid === '' || mxidOnly ? '' : associationJson(address, mxid) };
    }),
  }),
  hashedLookup: async ({ queries }) => ({
    answers: queries.map(({ pepper, addresses }) =>
      pepper === PEPPER
        ? { outcome: { $case: 'mappings', value: { mxids: addresses.map((address) => HASHED[address] ?? '') } } }
        : {
            outcome: {
              $case: 'error',
              value: { errcode: 'M_INVALID_PEPPER', error: 'wrong pepper', lookupPepper: PEPPER, algorithm: 'sha256' },
            },
          },
    ),
  }),
  hashDetails: async () => ({ lookupPepper: PEPPER, algorithms: ['sha256', 'none'] }),
};

/** A directory port that records every call; `script` replaces one method's answer until reset(). */
export function fakeDirectory() {
  return recordingPort<DirectoryPort, Calls, Answers>(DEFAULTS);
}

/** The lookups as the routes use them, counting the requests that have entered them. */
function countedLookups(lookups: DirectoryLookups) {
  const entered = { lookup: 0, hashedLookup: 0, hashDetails: 0 };
  const counted: DirectoryLookups = {
    lookup: (threepids) => {
      entered.lookup++;
      return lookups.lookup(threepids);
    },
    lookupMxids: (threepids) => {
      entered.lookup++;
      return lookups.lookupMxids(threepids);
    },
    hashedLookup: (query) => {
      entered.hashedLookup++;
      return lookups.hashedLookup(query);
    },
    hashDetails: () => {
      entered.hashDetails++;
      return lookups.hashDetails();
    },
  };
  return { counted, entered };
}

export async function startDirectoryApp() {
  const directory = fakeDirectory();
  const session = fakeSession();
  const { counted, entered } = countedLookups(coalescedLookups(directory.port));
  const served = await serveRoutes(
    directoryRoutes({ directory: directory.port, lookups: counted, auth: authenticator(session.port) }),
  );
  return {
    ...served,
    directory,
    session,
    /** How many requests have asked the lookups so far (coalesced or not). */
    entered,
    reset() {
      directory.reset();
      session.reset();
      entered.lookup = entered.hashedLookup = entered.hashDetails = 0;
    },
  };
}
export type DirectoryApp = Awaited<ReturnType<typeof startDirectoryApp>>;
