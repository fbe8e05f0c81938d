/**
 * What a route reads of a request, whichever path served it: Express's Request has all of it, and
 * the lean path (lean-path.ts) builds the same from Node's request alone. Routes that read only
 * this can be served on either path with the same result.
 */
export interface ApiRequest {
  /** The query string's fields as node:querystring parses them (a repeated name gives an array). */
  readonly query: Readonly<Record<string, unknown>>;
  /** The route's path parameters, percent-decoded (an array only for a wildcard, which Express alone serves). */
  readonly params: Readonly<Record<string, string | string[]>>;
  /** The body as the route's body readers left it (body.ts); undefined for a GET. */
  readonly body: unknown;
  /** A request header by name (any case); undefined when absent. */
  header(name: string): string | undefined;
}
