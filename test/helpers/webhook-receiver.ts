// A merchant's webhook endpoint for tests: records every request (headers and raw body), and can
// be told to fail the next requests (a receiver that is down, then recovers).

import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface ReceivedWebhook {
  /** The request's path and query: which callback URL the webhook was sent to. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, unknown> };
  receivedAtMs: number;
  answeredStatus: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Answer the next `count` requests (of those `only` accepts) with `status` (e.g. 500). */
  failNext(count: number, status?: number, only?: (json: ReceivedWebhook['json']) => boolean): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let failures = 0;
  let failStatus = 500;
  let failOnly: ((json: ReceivedWebhook['json']) => boolean) | undefined;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      let json: ReceivedWebhook['json'];
      try {
        json = JSON.parse(body);
      } catch {
        json = { id: '', type: 'unparseable', created_at: '', data: {} };
      }
      const fail = failures > 0 && (failOnly === undefined || failOnly(json));
      const status = fail ? failStatus : 200;
      if (fail) failures -= 1;
      received.push({ path: req.url ?? '', headers: req.headers, body, json, receivedAtMs: Date.now(), answeredStatus: status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'down');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks/settle`,
    received,
    failNext(count, status = 500, only) {
      failures = count;
      failStatus = status;
      failOnly = only;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
