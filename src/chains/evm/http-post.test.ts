import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { httpPost } from './http-post.ts';

let url: URL;
let rawUrl: URL;
const server = createServer((req, res) => void route(req, res));
/** A server writing bytes by hand, for framings node:http does not produce. */
const raw = createTcpServer((socket) => {
  socket.once('data', () => socket.end('HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{"closed":true}'));
});

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString();
  if (req.url === '/echo') {
    res.writeHead(200, { 'content-length': Buffer.byteLength(body), 'x-auth': req.headers['authorization'] ?? '' });
    res.end(body);
  } else if (req.url === '/chunked') {
    res.writeHead(200, { 'content-type': 'application/json' });
    for (const part of ['[1,', '2,', '3]']) res.write(part);
    res.end();
  } else if (req.url === '/big') {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
    res.writeHead(200, { 'content-length': big.length });
    res.end(big);
  } else if (req.url === '/slow') {
    setTimeout(() => res.end('late'), 500);
  } else {
    res.writeHead(404, { 'content-length': 9 });
    res.end('not found');
  }
}

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  rawUrl = new URL(`http://127.0.0.1:${(raw.address() as AddressInfo).port}/`);
});

after(() => {
  server.closeAllConnections();
  server.close();
  raw.close();
});

/** The deadline of a request expected to be answered: it bounds only a failing test, so it is
 * generous for a loaded machine. */
const ANSWER_TIMEOUT_MS = 30_000;
const post = (path: string, body = '{}', signal = AbortSignal.timeout(ANSWER_TIMEOUT_MS)) => httpPost(new URL(path, url), { 'content-type': 'application/json', authorization: 'Basic eA==' }, body, signal);

test('httpPost() sends the body and headers and reads a content-length response, over a kept-alive socket', async () => {
  for (let i = 0; i < 3; i += 1) {
    const { status, bytes } = await post('/echo', `{"n":${i},"text":"é"}`);
    assert.equal(status, 200);
    assert.equal(bytes.toString(), `{"n":${i},"text":"é"}`);
    assert.equal(bytes.byteOffset, 0);
  }
  const sockets = await new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count)));
  assert.equal(sockets, 1, 'one socket served the three requests');
});

test('httpPost() reads large bodies whole, chunked bodies, and bodies delimited by the server closing', async () => {
  const big = await post('/big');
  assert.equal(big.bytes.length, 3 * 1024 * 1024 + 17);
  assert.ok(big.bytes.every((byte) => byte === 0x61));
  assert.equal((await post('/chunked')).bytes.toString(), '[1,2,3]');
  const closed = await httpPost(rawUrl, {}, '{}', AbortSignal.timeout(ANSWER_TIMEOUT_MS));
  assert.deepEqual([closed.status, closed.bytes.toString()], [200, '{"closed":true}']);
});

test('httpPost() returns other statuses with their body', async () => {
  const { status, bytes } = await post('/missing');
  assert.deepEqual([status, bytes.toString()], [404, 'not found']);
});

test('httpPost() rejects with the signal\'s reason when it aborts, and with the socket error when refused', async () => {
  await assert.rejects(post('/slow', '{}', AbortSignal.timeout(50)), { name: 'TimeoutError' });
  assert.equal((await post('/echo', '"after"')).bytes.toString(), '"after"', 'later requests still work');
  const closed = createTcpServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await assert.rejects(httpPost(new URL(`http://127.0.0.1:${port}/`), {}, '{}', AbortSignal.timeout(ANSWER_TIMEOUT_MS)), { code: 'ECONNREFUSED' });
});
