import type { RequestHandler } from 'express';

// The spec's CORS headers, on every response: identity servers are called from web clients.
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Origin, X-Requested-With, Content-Type, Accept, Authorization, X-Request-Id',
  // Lets a web client read the id to quote when it reports a problem.
  'Access-Control-Expose-Headers': 'X-Request-Id',
};

export const cors: RequestHandler = (req, res, next) => {
  res.set(CORS_HEADERS);
  if (req.method === 'OPTIONS') {
    res.status(200).json({});
    return;
  }
  next();
};
