// npm run bench:tron — TRON scanning throughput: blocks fetched from a TRON full-node HTTP API,
// decoded and matched against 1,000,000 watched addresses.
//   settle:   the TRON adapter's fetchBlocks (one /wallet/getblockbylimitnext range of
//             BENCH_RANGE_BLOCKS blocks + one /wallet/gettransactioninfobyblocknum per block,
//             read straight into recycled buffers) and the decode pool (2 worker threads reading
//             each range answer in place: heights, links, blockIDs, infos checked; shared
//             AddressIndex of 20-byte keys), one task per range as the scanner does
//   baseline: the usual tronweb approach on the same node and the same blocks: trx.getBlockByNumber
//             + fullNode.request('wallet/gettransactioninfobyblocknum'), TronWeb.address.fromHex
//             on every TRX transfer and USDT Transfer log, Set lookups of base58 strings
//             (4 blocks in flight, so it is not held back by latency alone)
// The node is our loopback TRON node (test/helpers/tron-node.ts) in a child process
// (tron-server.ts), serving thousands of heights rendered from templates of ~300 real signed
// transactions in a TRC-20-heavy mix (tron-blocks.ts). Every decoded block's match count is
// checked against a count made independently from the generated transactions. Comment lines
// give the CPU spent per block (this process: main thread and workers; the node child), so a run
// on a shared machine can be read against its load average.
// BENCH_BASELINE_SECONDS=0 skips the baseline; BENCH_CHILD_ARGS passes flags to the node child
// (e.g. --cpu-prof).
// Last line: {"bench":"tron","blocks_per_s":…,"baseline_blocks_per_s":…,"ratio":…,"watched":1000000}

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { TronWeb } from 'tronweb';
import { round } from './harness.ts';
import { systemClock } from '../src/common.ts';
import { ChainSchema, type TronChainConfig } from '../src/config.ts';
import { createTronAdapter } from '../src/chains/tron/index.ts';
import { tronAddressFromBody, tronAddressToBodyHex } from '../src/chains/tron/address.ts';
import { AddressIndex } from '../src/scan/address-index.ts';
import { rawBuffers } from '../src/scan/buffers.ts';
import { createDecodePool, TASKS_PER_THREAD_DEFAULT } from '../src/scan/pool.ts';
import { TRANSFER_TOPIC, USDT } from '../test/helpers/tron-txs.ts';

const WATCHED = Number(process.env.BENCH_WATCHED ?? 1_000_000);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 4_000);
const WARMUP_BLOCKS = Number(process.env.BENCH_WARMUP_BLOCKS ?? 600);
const RANGE_BLOCKS = Number(process.env.BENCH_RANGE_BLOCKS ?? 10);
const RANGES_IN_FLIGHT = Number(process.env.BENCH_RANGES_IN_FLIGHT ?? 4);
const QUEUE_MAX = Number(process.env.BENCH_QUEUE_MAX ?? 4);
const TASKS_PER_THREAD = Number(process.env.BENCH_TASKS_PER_THREAD ?? TASKS_PER_THREAD_DEFAULT);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 10);
const BASELINE_IN_FLIGHT = Number(process.env.BENCH_BASELINE_IN_FLIGHT ?? 4);

interface ServerInfo {
  url: string;
  start: number;
  heights: number;
  templates: number;
  txs: number;
  watched: string[];
  expected: number[];
  blockKb: number;
  infosKb: number;
  builtS: number;
}

const server = await startServer(WARMUP_BLOCKS + BLOCKS + 1);
const info = server.info;
console.log(
  `# node: ${info.url} serving ${info.heights} heights from ${info.templates} templates of ${info.txs} transactions ` +
    `(block ~${info.blockKb} KB + infos ~${info.infosKb} KB of JSON, built in ${info.builtS} s); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
);
console.log(`# matches per template block: ${info.expected.join(', ')}`);

let started = performance.now();
const index = new AddressIndex({ capacity: WATCHED + info.watched.length });
const random = randomBytes(WATCHED * 20);
for (let i = 0; i < WATCHED; i += 1) index.addKey(random.subarray(i * 20, i * 20 + 20));
for (const body of info.watched) index.addKey(Buffer.from(body, 'hex'));
console.log(`# index: ${index.size} keys, ${round(index.bytes / 2 ** 20)} MB shared, built in ${round((performance.now() - started) / 1000)} s`);

const config = ChainSchema.parse({
  family: 'tron',
  network: 'private',
  rpc: { url: info.url },
  tokens: [{ code: 'USDT-TRC20', symbol: 'USDT', contract: USDT, decimals: 6 }],
}) as TronChainConfig;
const adapter = createTronAdapter('bench', config, { logger: pino({ level: 'warn' }), clock: systemClock, signal: new AbortController().signal });
await adapter.verify();
const pool = createDecodePool({ threads: THREADS, queueMax: QUEUE_MAX, tasksPerThread: TASKS_PER_THREAD, recycle: (buffers) => rawBuffers.give(buffers) });
const handle = index.handle();
const options = adapter.decodeOptions();

function check(height: number, matches: number): void {
  const want = info.expected[height % info.templates] as number;
  if (matches !== want) throw new Error(`block ${height}: ${matches} matches, expected ${want}`);
}

/** Fetches and decodes [from, from + count) in ranges, RANGES_IN_FLIGHT at a time; checks every block. */
async function runSettle(from: number, count: number): Promise<number> {
  let next = from;
  const end = from + count;
  async function lane(): Promise<void> {
    while (next < end) {
      const first = next;
      const last = Math.min(end, first + RANGE_BLOCKS) - 1;
      next = last + 1;
      // One task per range answer, as the scanner does: the worker reads the blocks in place.
      const raws = await adapter.fetchBlocks(first, last);
      const decoded = await pool.decode({ family: 'tron', chain: 'bench', blocks: raws, index: handle, options });
      if (decoded.length !== last - first + 1) throw new Error(`${decoded.length} blocks decoded of ${last - first + 1}`);
      for (const block of decoded) check(block.height, block.matches.length);
    }
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  await Promise.all(Array.from({ length: RANGES_IN_FLIGHT }, lane));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  usage = { processCpuMs: (cpu.user + cpu.system) / 1e3 / count, mainBusyMs: (performance.eventLoopUtilization(elu0).active) / count };
  return count / seconds;
}
/** Per block: CPU of the whole process (main thread and workers), and time the main thread was busy. */
let usage = { processCpuMs: 0, mainBusyMs: 0 };

await runSettle(info.start, WARMUP_BLOCKS);
const blocksPerS = await runSettle(info.start + WARMUP_BLOCKS, BLOCKS);
console.log(
  `# settle: ${round(blocksPerS)} blocks/s (${BLOCKS} blocks, ranges of ${RANGE_BLOCKS}, ${RANGES_IN_FLIGHT} in flight, ${THREADS} worker threads; ` +
    `per block: ${round(usage.processCpuMs, 2)} ms CPU in this process, main thread busy ${round(usage.mainBusyMs, 2)} ms); load average ${loadavg()[0]?.toFixed(2)}`,
);
server.report();
console.log(`# raw buffers: ${rawBuffers.reused} reused, ${rawBuffers.allocated} allocated, ${round(rawBuffers.kept / 2 ** 20)} MB kept`);
await pool.close();

// Baseline: a Set of base58 addresses (what tronweb hands out) and tronweb's own calls.
started = performance.now();
const watchedStrings = new Set<string>();
for (let i = 0; i < (BASELINE_SECONDS > 0 ? WATCHED : 0); i += 1) watchedStrings.add(tronAddressFromBody(random.subarray(i * 20, i * 20 + 20)));
for (const body of info.watched) watchedStrings.add(tronAddressFromBody(Buffer.from(body, 'hex')));
console.log(`# baseline set of ${watchedStrings.size} addresses built in ${round((performance.now() - started) / 1000)} s`);
const tronWeb = new TronWeb({ fullHost: info.url });
const usdtBody = tronAddressToBodyHex(USDT);

interface TxJson {
  ret?: Array<{ contractRet?: string }>;
  raw_data: { contract: Array<{ type: string; parameter: { value: Record<string, string> } }> };
}
interface InfoJson {
  result?: string;
  log?: Array<{ address: string; topics?: string[] }>;
}

async function baselineBlock(height: number): Promise<void> {
  const [block, infos] = await Promise.all([
    tronWeb.trx.getBlockByNumber(height) as unknown as Promise<{ transactions?: TxJson[] }>,
    tronWeb.fullNode.request('wallet/gettransactioninfobyblocknum', { num: height }, 'post') as Promise<InfoJson[]>,
  ]);
  let count = 0;
  for (const tx of block.transactions ?? []) {
    if (tx.ret?.[0]?.contractRet !== 'SUCCESS') continue;
    const contract = tx.raw_data.contract[0];
    if (contract?.type !== 'TransferContract') continue;
    const value = contract.parameter.value;
    if (watchedStrings.has(TronWeb.address.fromHex(value.to_address as string))) count += 1;
    if (watchedStrings.has(TronWeb.address.fromHex(value.owner_address as string))) count += 1;
  }
  for (const i of infos) {
    if (i.result === 'FAILED') continue;
    for (const log of i.log ?? []) {
      const topics = log.topics ?? [];
      if (log.address !== usdtBody || topics.length !== 3 || topics[0] !== TRANSFER_TOPIC) continue;
      if (watchedStrings.has(TronWeb.address.fromHex(`41${topics[2]!.slice(24)}`))) count += 1;
      if (watchedStrings.has(TronWeb.address.fromHex(`41${topics[1]!.slice(24)}`))) count += 1;
    }
  }
  check(height, count);
}

async function runBaseline(from: number, seconds: number): Promise<number> {
  let next = from;
  let done = 0;
  const last = info.start + info.heights - 1;
  const deadline = performance.now() + seconds * 1000;
  async function lane(): Promise<void> {
    while (performance.now() < deadline && next <= last) {
      const height = next;
      next += 1;
      await baselineBlock(height);
      done += 1;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: BASELINE_IN_FLIGHT }, lane));
  return done / ((performance.now() - t0) / 1000);
}

// BENCH_BASELINE_SECONDS=0 skips it (for profiling Settle alone).
let baselinePerS = Number.NaN;
if (BASELINE_SECONDS > 0) {
  await runBaseline(info.start, 2);
  baselinePerS = await runBaseline(info.start + WARMUP_BLOCKS, BASELINE_SECONDS);
}
console.log(`# baseline (tronweb, 1 thread, ${BASELINE_IN_FLIGHT} blocks in flight): ${round(baselinePerS)} blocks/s; load average ${loadavg()[0]?.toFixed(2)}`);
server.stop();
console.log(JSON.stringify({ bench: 'tron', blocks_per_s: round(blocksPerS), baseline_blocks_per_s: round(baselinePerS), ratio: round(blocksPerS / baselinePerS, 2), watched: WATCHED }));

async function startServer(heights: number): Promise<{ info: ServerInfo; stop(): void; report(): void }> {
  const entry = fileURLToPath(new URL('./tron-server.ts', import.meta.url));
  const child = spawn(process.execPath, [...(process.env.BENCH_CHILD_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', entry], { env: { ...process.env, BENCH_TRON_HEIGHTS: String(heights) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the bench node exited with ${code} before listening`)));
  });
  return { info: JSON.parse(first) as ServerInfo, stop: () => child.kill('SIGTERM'), report: () => child.kill('SIGUSR2') };
}
