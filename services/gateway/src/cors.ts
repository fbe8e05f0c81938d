import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { answerJson, writeAnswer } from './answer.js';

// The spec's CORS headers, on every response: identity servers are called from web clients.
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Origin, X-Requested-With, Content-Type, Accept, Authorization, X-Request-Id',
  // Lets a web client read the id to quote when it reports a problem.
  'Access-Control-Expose-Headers': 'X-Request-Id',
};
const CORS_ENTRIES = Object.entries(CORS_HEADERS);
const PREFLIGHT = answerJson({});

/** The CORS headers on a response; both paths (Express, lean-path.ts) set them here. */
export function setCorsHeaders(res: ServerResponse): void {
  for (const [name, value] of CORS_ENTRIES) res.setHeader(name, value);
}

/** Every path answers a preflight (OPTIONS) with 200 {}; the lean path leaves OPTIONS to Express. */
export const cors: RequestHandler = (req, res, next) => {
  setCorsHeaders(res);
  if (req.method === 'OPTIONS') writeAnswer(res, PREFLIGHT);
  else next();
};
