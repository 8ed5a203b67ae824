// The loopback JSON-RPC node of the EVM benchmark, run as a child process so it does not share
// an event loop with what is measured. It serves heights HEIGHT_BASE + 1 … HEIGHT_BASE +
// BENCH_EVM_HEIGHTS, each the source block (height mod count) rendered at that height (evm-blocks.ts): eth_chainId, eth_blockNumber,
// eth_getBlockByNumber (single or batched) and eth_getLogs for the USDT Transfer logs.
// Prints {"port":…} on stdout once listening.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockTemplate, HEIGHT_BASE, heightValues, loadSourceBlocks, renderInto, type BlockTemplate, type Template } from './evm-blocks.ts';

const HEIGHTS = Number(process.env.BENCH_EVM_HEIGHTS ?? 20_000);
const CHAIN_ID = Number(process.env.BENCH_EVM_CHAIN_ID ?? 1);

interface Call {
  id: unknown;
  method: string;
  params: unknown[];
}

const { blocks } = loadSourceBlocks();
const templates: BlockTemplate[] = blocks.map(blockTemplate);
/** The token contracts each template's logs come from. */
const logTokens = blocks.map((block) => new Set(block.logs.map((log) => String(log['address']).toLowerCase())));

function templateOf(height: number): number {
  return height % templates.length;
}

function heightOf(tag: unknown): number | undefined {
  if (tag === 'latest' || tag === 'finalized' || tag === 'safe') return HEIGHT_BASE + HEIGHTS;
  if (typeof tag !== 'string' || !/^0x[0-9a-f]+$/i.test(tag)) return undefined;
  return Number.parseInt(tag, 16);
}

/** A piece of a response: bytes as they are, or a template rendered at a height. */
type Piece = Buffer | { template: Template; height: number };
type Out = Piece[];

function lengthOf(piece: Piece): number {
  return Buffer.isBuffer(piece) ? piece.length : piece.template.bytes.length;
}

/** The pieces in one buffer: one copy of each template, patched in place. */
function assemble(out: Out): Buffer {
  let length = 0;
  for (const piece of out) length += lengthOf(piece);
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (const piece of out) {
    if (Buffer.isBuffer(piece)) at += piece.copy(body, at);
    else at += renderInto(body, at, piece.template, heightValues(piece.height));
  }
  return body;
}

/** Appends the JSON of the call's result to `out`, or returns an error. */
function answer(call: Call, out: Out): { code: number; message: string } | undefined {
  switch (call.method) {
    case 'eth_chainId':
      out.push(Buffer.from(`"0x${CHAIN_ID.toString(16)}"`));
      return undefined;
    case 'eth_blockNumber':
      out.push(Buffer.from(`"0x${(HEIGHT_BASE + HEIGHTS).toString(16)}"`));
      return undefined;
    case 'eth_getBlockByNumber': {
      const height = heightOf(call.params[0]);
      if (height === undefined) return { code: -32602, message: 'invalid block tag' };
      if (height <= HEIGHT_BASE || height > HEIGHT_BASE + HEIGHTS) out.push(Buffer.from('null'));
      else out.push({ template: (templates[templateOf(height)] as BlockTemplate).block, height });
      return undefined;
    }
    case 'eth_getLogs':
      return logs(call, out);
    default:
      return { code: -32601, message: `the method ${call.method} does not exist/is not available` };
  }
}

function logs(call: Call, out: Out): { code: number; message: string } | undefined {
  const filter = call.params[0] as { fromBlock?: string; toBlock?: string; address?: string[] | string } | undefined;
  const from = heightOf(filter?.fromBlock);
  const to = heightOf(filter?.toBlock);
  if (from === undefined || to === undefined || from > to) return { code: -32602, message: 'invalid block range' };
  const wanted = new Set((Array.isArray(filter?.address) ? filter.address : [filter?.address ?? '']).map((a) => a.toLowerCase()));
  out.push(Buffer.from('['));
  let first = true;
  for (let height = Math.max(HEIGHT_BASE + 1, from); height <= Math.min(to, HEIGHT_BASE + HEIGHTS); height += 1) {
    const k = templateOf(height);
    const template = templates[k] as BlockTemplate;
    if (template.logCount === 0 || ![...(logTokens[k] as Set<string>)].every((token) => wanted.has(token))) continue;
    if (!first) out.push(Buffer.from(','));
    first = false;
    out.push({ template: template.logs, height });
  }
  out.push(Buffer.from(']'));
  return undefined;
}

function respond(call: Call, out: Out): void {
  out.push(Buffer.from(`{"jsonrpc":"2.0","id":${JSON.stringify(call.id)},`));
  const mark = out.length;
  out.push(Buffer.from('"result":'));
  const error = answer(call, out);
  if (error !== undefined) {
    out.length = mark;
    out.push(Buffer.from(`"error":${JSON.stringify(error)}`));
  }
  out.push(Buffer.from('}'));
}

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Call | Call[];
  const out: Out = [];
  if (Array.isArray(parsed)) {
    out.push(Buffer.from('['));
    parsed.forEach((call, i) => {
      if (i > 0) out.push(Buffer.from(','));
      respond(call, out);
    });
    out.push(Buffer.from(']'));
  } else {
    respond(parsed, out);
  }
  const body = assemble(out);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

const server = createServer((req, res) => {
  serve(req, res).catch((error: unknown) => {
    res.writeHead(500);
    res.end(String(error));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, blocks: templates.map((t) => t.name) })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// Started with an IPC channel by bench/evm.ts: when the benchmark ends or dies, so does the node.
process.on('disconnect', () => process.exit(0));
// CPU time used so far, for the benchmark's per-block CPU figures.
process.on('message', () => process.send?.({ cpuUs: process.cpuUsage().user + process.cpuUsage().system }));
