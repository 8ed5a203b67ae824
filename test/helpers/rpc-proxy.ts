// A loopback HTTP proxy in front of a JSON-RPC node, for fault injection in tests: the handler
// sees each request body and either answers it itself (a provider's error, a slow or broken
// reply) or forwards it to the node and may rewrite the answer. Not a mock of the node: the
// answers that matter come from the real one (anvil).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyReply {
  status: number;
  body: string;
}

/** One JSON-RPC call of a request (a single call, or an element of a batch). */
export interface ProxyCall {
  id: unknown;
  method: string;
  params: unknown[];
}

export type ProxyHandler = (
  request: { body: string; calls: ProxyCall[]; batch: boolean; headers: IncomingMessage['headers'] },
  forward: (body?: string) => Promise<ProxyReply>) => Promise<ProxyReply>;

export interface RpcProxy {
  url: string;
  /** Every request body received, in order. */
  requests: { calls: ProxyCall[]; batch: boolean }[];
  setHandler(handler: ProxyHandler): void;
  close(): Promise<void>;
}

export const passThrough: ProxyHandler = (_request, forward) => forward();

export async function startRpcProxy(targetUrl: string, handler: ProxyHandler = passThrough): Promise<RpcProxy> {
  let current = handler;
  const requests: RpcProxy['requests'] = [];

  async function forward(body: string): Promise<ProxyReply> {
    const response = await fetch(targetUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, body: await response.text() };
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const parsed = JSON.parse(body) as ProxyCall | ProxyCall[];
    const batch = Array.isArray(parsed);
    const calls = batch ? parsed : [parsed];
    requests.push({ calls, batch });
    const reply = await current({ body, calls, batch, headers: req.headers }, (replacement) => forward(replacement ?? body));
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(reply.body);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(599);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setHandler(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON-RPC error reply to one call. */
export function errorReply(id: unknown, code: number, message: string, status = 200): ProxyReply {
  return { status, body: JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } }) };
}
