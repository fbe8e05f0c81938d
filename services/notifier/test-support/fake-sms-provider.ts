// A real HTTP server on loopback standing in for an SMS provider, for this service's tests. Not
// used by the service itself.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceivedRequest = { method: string; path: string; headers: IncomingHttpHeaders; body: string };
export type FakeAnswer = { status: number; headers?: Record<string, string>; body?: unknown };

export type FakeSmsProvider = {
  /** http://127.0.0.1:PORT, as TESSERA_SMS_URL takes it. */
  url: string;
  requests: ReceivedRequest[];
  /** How the next requests are answered; `'hang'` never answers. */
  answer(next: FakeAnswer | 'hang' | ((request: ReceivedRequest) => FakeAnswer)): void;
  close(): Promise<void>;
};

export async function startFakeSmsProvider(): Promise<FakeSmsProvider> {
  const requests: ReceivedRequest[] = [];
  let answer: FakeAnswer | 'hang' | ((request: ReceivedRequest) => FakeAnswer) = { status: 201, body: { sid: 'SM1' } };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      if (answer === 'hang') return;
      const { status, headers = {}, body } = typeof answer === 'function' ? answer(request) : answer;
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (next) => {
      answer = next;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
