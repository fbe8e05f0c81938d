import { answerJson, answerJsonText } from '../answer.js';
import { bodyParams, invalid, queryParams } from '../params.js';
import type { DirectoryRouteDeps } from './directory-deps.js';
import { onV1, onV2, type Route } from './route.js';
import { lookupThreepidOf } from './threepid.js';

/**
 * The lookups: v1 lookup and bulk_lookup (no auth; plaintext 3PIDs), v2 hash_details and lookup
 * (token and accepted terms). Every one goes through the coalesced lookups, so concurrent
 * requests share the directory's calls; the token checks through the cached authenticator.
 * Hot routes: served on the lean path (lean-path.ts).
 */
export function lookupRoutes({ lookups, auth }: DirectoryRouteDeps): Route[] {
  return [
    onV1('GET', '/lookup', {
      answer: async (req) => {
        const params = queryParams(req);
        const threepid = lookupThreepidOf(params.requiredString('medium'), params.requiredString('address'));
        const [found] = threepid === null ? [] : await lookups.lookup([threepid]);
        // The signed association exactly as stored (canonical JSON), or {} when there is none.
        return found === undefined || found.associationJson === ''
          ? answerJson({})
          : answerJsonText(found.associationJson);
      },
    }),
    onV1(
      'POST',
      '/bulk_lookup',
      {
        answer: async (req) => {
          const asked = pairsOf(bodyParams(req, 'v1').requiredArray('threepids'));
          const known = asked.flatMap(([medium, address]) => {
            const threepid = lookupThreepidOf(medium, address);
            return threepid === null ? [] : [{ medium, address, threepid }];
          });
          const mxids = await lookups.lookupMxids(known.map(({ threepid }) => threepid));
          // Matches only, each with the medium and address as the client sent them.
          const threepids = known.flatMap(({ medium, address }, index) => {
            const mxid = mxids[index] ?? '';
            return mxid === '' ? [] : [[medium, address, mxid]];
          });
          return answerJson({ threepids });
        },
      },
      'json-or-form',
    ),
    onV2('GET', '/hash_details', {
      answer: async (req) => {
        await auth(req, { terms: true });
        const { lookupPepper, algorithms } = await lookups.hashDetails();
        return answerJson({ lookup_pepper: lookupPepper, algorithms });
      },
    }),
    onV2(
      'POST',
      '/lookup',
      {
        answer: async (req) => {
          await auth(req, { terms: true });
          const params = bodyParams(req, 'v2');
          const addresses = params.requiredStringArray('addresses');
          const query = {
            algorithm: params.requiredString('algorithm'),
            pepper: params.requiredString('pepper'),
            addresses,
          };
          const mxids = await lookups.hashedLookup(query);
          // Keys exactly as sent; fromEntries makes own properties, so "__proto__" is a key like any other.
          const mappings = Object.fromEntries(
            addresses.flatMap((address, index) => (mxids[index] ? [[address, mxids[index]]] : [])),
          );
          return answerJson({ mappings });
        },
      },
      'json',
    ),
  ];
}

/** bulk_lookup's `threepids`: every item a [medium, address] pair of strings (M_INVALID_PARAM otherwise). */
function pairsOf(items: unknown[]): [string, string][] {
  const isPair = (item: unknown): item is [string, string] =>
    Array.isArray(item) && item.length === 2 && typeof item[0] === 'string' && typeof item[1] === 'string';
  if (!items.every(isPair)) throw invalid('threepids', 'a list of [medium, address] pairs of strings');
  return items;
}
