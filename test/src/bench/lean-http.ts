import { connect, type Socket } from 'node:net';

/**
 * One keep-alive HTTP/1.1 connection carrying one request at a time, for a load generator that
 * shares the machine with the system it measures: it writes each request in one piece and reads
 * only the status line, Content-Length and the body, so it costs a fraction of node:http's CPU
 * and leaves that to Tessera. Responses without Content-Length (chunked) are refused: the
 * gateway always sends it.
 */
export interface LeanConnection {
  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<LeanResponse>;
  close(): void;
}

export type LeanResponse = { status: number; text: string };

const HEAD_END = Buffer.from('\r\n\r\n');

export async function openLeanConnection(baseUrl: string): Promise<LeanConnection> {
  const { hostname, port } = new URL(baseUrl);
  const socket: Socket = connect({ host: hostname, port: Number(port), noDelay: true });
  await new Promise<void>((ok, fail) => {
    socket.once('connect', ok);
    socket.once('error', fail);
  });
  const host = `${hostname}:${port}`;
  let pending: { resolve: (res: LeanResponse) => void; reject: (err: Error) => void } | undefined;
  let buffered: Buffer = Buffer.alloc(0);

  const fail = (err: Error) => {
    const waiting = pending;
    pending = undefined;
    waiting?.reject(err);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('connection closed')));
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const headEnd = buffered.indexOf(HEAD_END);
    if (headEnd === -1) return;
    const head = buffered.subarray(0, headEnd).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) return fail(new Error(`response ${status} without Content-Length`));
    const bodyStart = headEnd + HEAD_END.length;
    const bodyEnd = bodyStart + Number(length);
    if (buffered.length < bodyEnd) return;
    const text = buffered.subarray(bodyStart, bodyEnd).toString('utf8');
    buffered = buffered.subarray(bodyEnd);
    const waiting = pending;
    pending = undefined;
    waiting?.resolve({ status, text });
  });

  return {
    request(method, path, headers, body) {
      if (pending !== undefined) return Promise.reject(new Error('one request at a time'));
      const lines = [`${method} ${path} HTTP/1.1`, `host: ${host}`];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
      return new Promise<LeanResponse>((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
      });
    },
    close: () => socket.destroy(),
  };
}
