import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ParsedUrlQuery, parse as parseQuery } from 'node:querystring';
import { withCorrelation } from '@tessera/correlation';
import type { Logger } from '@tessera/service-kit';
import type { RequestHandler } from 'express';
import { writeAnswer } from './answer.js';
import type { ApiRequest } from './api-request.js';
import { bodyErrorOf, readBody } from './body.js';
import { setCorsHeaders } from './cors.js';
import { nameRequest, underRequestId } from './request-id.js';
import { markRoute } from './request-outcome.js';
import { malformedRequestProblem } from './request-shape.js';
import { type AnsweringRoute, API_PREFIX, type BodyKind, isAnswering, type Route } from './routes/route.js';
import { sendError } from './send-error.js';

/** The steps every request takes, shared with the Express app (app.ts). */
export interface SharedSteps {
  /** Attaches the access log and the metrics to the response (request-outcome.ts). */
  observe(req: IncomingMessage, res: ServerResponse): void;
  readers: Record<BodyKind, RequestHandler[]>;
  log: Logger;
}

/** Serves a request when it can (true), or leaves it untouched for Express (false). */
export type LeanPath = (req: IncomingMessage, res: ServerResponse) => boolean;

type Segment = { literal: string } | { param: string };
type Pattern = { method: string; segments: Segment[] | 'any'; route: Route };

// What the lean matcher reads exactly as Express does: a literal, or a named parameter.
const LITERAL = /^[A-Za-z0-9_.-]+$/;
const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;
const SLASH = 47;

/**
 * The hot routes (the answering ones: pubkey, status, lookups) without Express: a request goes
 * the same steps as through the app (X-Request-Id, access log and metrics, CORS, the shape check,
 * the route's body readers, its handler, sendError), each the same function, with nothing else
 * in between. It takes only what it is sure Express would give the same answering route: GET or
 * POST under the API prefix, without a trailing slash, where the first route of the whole table
 * (Express's order) matching path and method is an answering one. Everything else, the 404s and
 * 405s and preflights of these paths too, goes to Express.
 */
export function leanPath(routes: Route[], { observe, readers, log }: SharedSteps): LeanPath {
  const routeOf = leanRoutes(routes);

  const serve = async (route: AnsweringRoute, req: LeanRequest, res: ServerResponse): Promise<void> => {
    try {
      const problem = malformedRequestProblem(req.raw);
      if (problem !== undefined) throw problem;
      markRoute(req.raw, route.path);
      if (route.body !== undefined) await readBody(readers[route.body], req.raw, res);
      // Again under the id: a body's stream events do not carry it (request-id.ts).
      writeAnswer(res, await underRequestId(res, () => route.answer(req)));
    } catch (err) {
      underRequestId(res, () => sendError(res, bodyErrorOf(err), log));
    }
  };

  return (req, res) => {
    const found = routeOf(req.method ?? '', req.url ?? '');
    if (found === undefined) return false;
    const id = nameRequest(req, res);
    observe(req, res);
    setCorsHeaders(res);
    const request = new LeanRequest(req, found.params, found.queryString);
    withCorrelation(id, () => void serve(found.route, request, res));
    return true;
  };
}

/** What the lean path serves a request by: its route, the path's parameters, the raw query string. */
export interface LeanMatch {
  route: AnsweringRoute;
  params: Record<string, string>;
  queryString: string;
}

/** The answering route the lean path serves `method` and `url` by, or undefined when Express must (see leanPath). */
export function leanRoutes(routes: Route[]): (method: string, url: string) => LeanMatch | undefined {
  const patterns = routes.map(patternOf);
  const prefixLength = API_PREFIX.length;
  return (method, url) => {
    if (method !== 'GET' && method !== 'POST') return undefined;
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (
      path.length <= prefixLength + 1 ||
      path.charCodeAt(prefixLength) !== SLASH ||
      path.charCodeAt(path.length - 1) === SLASH ||
      path.slice(0, prefixLength).toLowerCase() !== API_PREFIX
    )
      return undefined;
    const parts = path.slice(prefixLength + 1).split('/');
    for (const pattern of patterns) {
      if (pattern.method !== method) continue;
      const params = pattern.segments === 'any' ? {} : paramsOf(pattern.segments, parts);
      if (params === undefined) continue;
      // The first route Express would take: when it is not an answering one, Express serves it.
      if (!isAnswering(pattern.route)) return undefined;
      return { route: pattern.route, params, queryString: queryAt === -1 ? '' : url.slice(queryAt + 1) };
    }
    return undefined;
  };
}

/** A route's path as segments; one the lean matcher cannot read matches any path, so it is never passed over. */
function patternOf(route: Route): Pattern {
  const parts = route.path.split('/').slice(1);
  const segments: Segment[] = [];
  for (const part of parts) {
    const param = PARAM.exec(part)?.[1];
    if (param !== undefined) segments.push({ param });
    else if (LITERAL.test(part)) segments.push({ literal: part.toLowerCase() });
    else return { method: route.method, segments: 'any', route };
  }
  return { method: route.method, segments, route };
}

/**
 * The path's parameters when it matches the segments (literals without regard to case, as
 * Express matches; a parameter any non-empty segment, percent-decoded), else undefined. A
 * parameter that does not decode is left to Express, which answers it.
 */
function paramsOf(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  let params: Record<string, string> | undefined;
  for (let index = 0; index < parts.length; index++) {
    const segment = segments[index] as Segment;
    const part = parts[index] as string;
    if ('literal' in segment) {
      if (part.length !== segment.literal.length || part.toLowerCase() !== segment.literal) return undefined;
    } else {
      if (part === '') return undefined;
      const value = decodedOrUndefined(part);
      if (value === undefined) return undefined;
      params ??= {};
      params[segment.param] = value;
    }
  }
  return params ?? {};
}

function decodedOrUndefined(part: string): string | undefined {
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** The ApiRequest of a request on the lean path: the query parsed as Express's `simple` parser does, when first read. */
class LeanRequest implements ApiRequest {
  #query: ParsedUrlQuery | undefined;

  constructor(
    readonly raw: IncomingMessage,
    readonly params: Readonly<Record<string, string>>,
    private readonly queryString: string,
  ) {}

  get query(): ParsedUrlQuery {
    this.#query ??= parseQuery(this.queryString);
    return this.#query;
  }

  get body(): unknown {
    return (this.raw as IncomingMessage & { body?: unknown }).body;
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }
}
