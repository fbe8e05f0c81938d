import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MatrixErrorBody } from '@tessera/errors';
import type { Logger } from '@tessera/service-kit';
import { CORS_HEADERS } from './cors.js';

/**
 * Node answers some requests itself, before the app sees them, with a bare status line. These
 * handlers give those answers the same Matrix JSON body as every other refusal:
 * - a request Node cannot parse (`clientError`): 431 for oversized headers, 408 when it came too
 *   slowly, 400 for anything else (an unknown method, broken framing); a reset connection is closed;
 * - CONNECT (`connect`): 405, there is nothing to tunnel to;
 * - an Expect other than 100-continue (`checkExpectation`): 417.
 * These are logged at debug: anyone can send them, and they say nothing about us.
 */
export function answerNodeRefusalsWithJson(server: Server, log: Logger): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    log.debug({ code: err.code }, 'unparsable request refused');
    if (err.code === 'ECONNRESET' || !socket.writable || responseStarted(socket)) {
      socket.destroy();
      return;
    }
    const [status, errcode, error] = refusalOf(err.code);
    socket.end(rawResponse(status, { errcode, error }));
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    log.debug({}, 'CONNECT refused');
    socket.end(rawResponse(405, { errcode: 'M_UNRECOGNIZED', error: 'CONNECT is not supported' }));
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ errcode: 'M_UNRECOGNIZED', error: 'the only expectation supported is 100-continue' });
    const headers = { ...CORS_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    res.writeHead(417, { ...headers, connection: 'close' }).end(body);
  });
}

function refusalOf(code: string | undefined): [number, MatrixErrorBody['errcode'], string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'M_TOO_LARGE', 'the request headers are too large'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'M_UNKNOWN', 'the request took too long to arrive'];
    default:
      return [400, 'M_UNRECOGNIZED', 'the request could not be parsed'];
  }
}

// A response on its way for an earlier request of the connection: writing another one after its
// headers would corrupt it (Node's own rule, which the socket's _httpMessage tells).
function responseStarted(socket: Duplex): boolean {
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  return current?.headersSent === true;
}

function rawResponse(status: number, body: MatrixErrorBody): string {
  const json = JSON.stringify(body);
  const headers = {
    ...CORS_HEADERS,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(json)),
    Connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('')}\r\n${json}`;
}
