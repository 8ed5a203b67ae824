import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook } from './post.ts';
import type { Resolve } from './ssrf.ts';

interface Receiver { server: Server; port: number; requests: IncomingMessage[] }

const receivers: Receiver[] = [];
after(async () => {
  for (const r of receivers) {
    r.server.closeAllConnections();
    await new Promise((resolve) => r.server.close(resolve));
  }
});

/** A loopback HTTP server listening on IPv4 and IPv6 (so mapped addresses reach it too). */
async function receiver(handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end('ok')): Promise<Receiver> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    req.resume();
    req.on('end', () => handle(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  const r = { server, port: (server.address() as AddressInfo).port, requests };
  receivers.push(r);
  return r;
}

const strict = { timeoutMs: 2_000, allowPrivate: false };
const open = { timeoutMs: 2_000, allowPrivate: true };
const headers = { 'content-type': 'application/json' };

test('a callback on loopback, written any way, is not called and records blocked_address', async () => {
  const r = await receiver();
  for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]', '[64:ff9b::7f00:1]', '2130706433', 'localhost', 'localhost.']) {
    const result = await postWebhook(`http://${host}:${r.port}/hooks`, '{}', headers, strict);
    assert.equal(result.error, 'blocked_address', host);
    assert.equal(result.statusCode, undefined);
    assert.match(result.detail ?? '', /loopback|local name|this network/, host);
  }
  assert.equal(r.requests.length, 0, 'the receiver saw nothing');
  // The same receiver is reachable: the refusals above came from the guard, not the network.
  const allowed = await postWebhook(`http://[::ffff:127.0.0.1]:${r.port}/hooks`, '{}', headers, open);
  assert.equal(allowed.statusCode, 200);
  assert.equal(r.requests.length, 1);
});

test('the connection goes to the address resolved and checked once, not to a second DNS answer', async () => {
  const r = await receiver();
  let calls = 0;
  // First answer loopback (allowed here), then an address that would never answer: a rebinding
  // name. The name itself is not in DNS, so a second lookup by node would fail with ENOTFOUND.
  const rebinding: Resolve = async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.255.255.1', family: 4 }]);
  const result = await postWebhook(`http://rebind.settle-test.invalid:${r.port}/hooks`, '{"a":1}', headers, { ...open, resolve: rebinding });
  assert.equal(result.error, undefined, result.detail);
  assert.equal(result.statusCode, 200);
  assert.equal(calls, 1);
  assert.equal(r.requests[0]?.headers.host, `rebind.settle-test.invalid:${r.port}`);

  const toPrivate: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
  const refused = await postWebhook(`http://rebind.settle-test.invalid:${r.port}/hooks`, '{}', headers, { ...strict, resolve: toPrivate });
  assert.equal(refused.error, 'blocked_address');
  assert.equal(r.requests.length, 1, 'nothing more reached the receiver');
});

test('failures are recorded as classes; the socket error stays in the detail', async () => {
  const closed = await receiver();
  const closedPort = closed.port;
  closed.server.close();
  await new Promise((resolve) => closed.server.once('close', resolve));
  const refused = await postWebhook(`http://127.0.0.1:${closedPort}/`, '{}', headers, open);
  assert.equal(refused.error, 'connection_refused');
  assert.match(refused.detail ?? '', /ECONNREFUSED/);

  const hangUp = await receiver((req) => req.socket.destroy());
  assert.equal((await postWebhook(`http://127.0.0.1:${hangUp.port}/`, '{}', headers, open)).error, 'connection_reset');

  const notFound = await receiver((_req, res) => res.writeHead(404).end('no'));
  const missing = await postWebhook(`http://127.0.0.1:${notFound.port}/`, '{}', headers, open);
  assert.deepEqual([missing.error, missing.statusCode], ['http_4xx', 404]);

  const down = await receiver((_req, res) => res.writeHead(503).end('down'));
  assert.equal((await postWebhook(`http://127.0.0.1:${down.port}/`, '{}', headers, open)).error, 'http_5xx');

  const silent = await receiver(() => {});
  const slow = await postWebhook(`http://127.0.0.1:${silent.port}/`, '{}', headers, { ...open, timeoutMs: 200 });
  assert.equal(slow.error, 'timeout');

  const plain = await receiver();
  assert.equal((await postWebhook(`https://127.0.0.1:${plain.port}/`, '{}', headers, open)).error, 'tls_error');

  assert.equal((await postWebhook('javascript:alert(1)', '{}', headers, open)).error, 'invalid_url');
});
