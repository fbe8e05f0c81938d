import type { ServerResponse } from 'node:http';

/** A JSON answer: its status and its text, written as it is. */
export interface Answer {
  status: number;
  json: string;
}

/** `value` as JSON, 200 unless told. */
export const answerJson = (value: unknown, status = 200): Answer => ({ status, json: JSON.stringify(value) });

/** JSON text already made (a signed association, stored canonical): sent byte for byte. */
export const answerJsonText = (json: string, status = 200): Answer => ({ status, json });

/**
 * The one way a JSON answer leaves, on both the lean path and Express, errors included: the
 * headers Express's res.json set (its charset, a Content-Length), then status line, headers and
 * body in one write.
 */
export function writeAnswer(res: ServerResponse, { status, json }: Answer): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}
