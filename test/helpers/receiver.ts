/** A webhook receiver on localhost that records every request; `statusOf` picks each answer. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export const startReceiver = async (
  t: { teardown(fn: () => Promise<void>): void },
  statusOf: (received: Received[]) => number = () => 200,
): Promise<{ url: string; received: Received[] }> => {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const status = statusOf(received);
      received.push({ status, headers: req.headers, body });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
};
