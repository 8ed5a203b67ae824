// npm run bench:evm — EVM scanning throughput: blocks fetched from a JSON-RPC node, decoded and
// matched against 1,000,000 watched addresses.
//   settle:   the EVM adapter's fetchBlocks (batched eth_getBlockByNumber with full transactions
//             + one eth_getLogs per range for the token Transfers, raw bytes kept) and the decode
//             pool (2 worker threads, targeted JSON scan, shared AddressIndex)
//   baseline: the usual ethers v6 approach on the same node and the same ranges: JsonRpcProvider
//             getBlock(n, true) + getLogs, Interface.parseLog and getAddress for each Transfer,
//             Set lookups of checksummed address strings
// The node is a loopback server of ours in a child process (evm-server.ts) serving the real
// mainnet blocks of ../shared/fixtures (or generated ones) repeated to thousands of heights.
// Watched: 1,000,000 random addresses plus real USDT recipients of the blocks, so every block's
// matches are checked against a count computed independently from the source blocks.
// Last line: {"bench":"evm","blocks_per_s":…,"baseline_blocks_per_s":…,"ratio":…,"watched":1000000}

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getAddress, Interface, JsonRpcProvider, Network } from 'ethers';
import { pino } from 'pino';
import { round } from './harness.ts';
import { HEIGHT_BASE, loadSourceBlocks, TRANSFER_TOPIC, USDT_TOKENS, type SourceBlock } from './evm-blocks.ts';
import { systemClock } from '../src/common.ts';
import { ChainSchema, type EvmChainConfig } from '../src/config.ts';
import { createEvmAdapter } from '../src/chains/evm/index.ts';
import { AddressIndex } from '../src/scan/address-index.ts';
import { rawBuffers } from '../src/scan/buffers.ts';
import { createDecodePool, TASKS_PER_THREAD_DEFAULT } from '../src/scan/pool.ts';
import type { DecodedBlock, RawBlock } from '../src/scan/types.ts';

const WATCHED = Number(process.env.BENCH_WATCHED ?? 1_000_000);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 20_000);
const WARMUP_BLOCKS = Number(process.env.BENCH_WARMUP_BLOCKS ?? 2_000);
const RANGE_BLOCKS = Number(process.env.BENCH_RANGE_BLOCKS ?? 50);
const RANGES_IN_FLIGHT = Number(process.env.BENCH_RANGES_IN_FLIGHT ?? 4);
const TASK_BLOCKS = Number(process.env.BENCH_TASK_BLOCKS ?? 10);
const QUEUE_MAX = Number(process.env.BENCH_QUEUE_MAX ?? 4);
const TASKS_PER_THREAD = Number(process.env.BENCH_TASKS_PER_THREAD ?? TASKS_PER_THREAD_DEFAULT);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 10);
/** Every Nth USDT recipient of the source blocks is watched, so blocks have real matches. */
const WATCH_EVERY = 10;

const { blocks: sources, source } = loadSourceBlocks();
const heightsServed = WARMUP_BLOCKS + BLOCKS + 1;
const server = await startServer(heightsServed);
const url = `http://127.0.0.1:${server.port}`;
console.log(`# node: ${url} serving ${heightsServed} heights from ${sources.length} source blocks (${source}); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const real = realWatched(sources);
const expected = sources.map((block) => expectedMatches(block, real.set));
console.log(`# watching ${WATCHED} random addresses + ${real.set.size} real USDT recipients; matches per source block: ${expected.join(', ')}`);

let started = performance.now();
const index = new AddressIndex({ capacity: WATCHED + real.set.size });
const random = randomBytes(WATCHED * 20);
for (let i = 0; i < WATCHED; i += 1) index.addKey(random.subarray(i * 20, i * 20 + 20));
for (const address of real.set) index.addKey(Buffer.from(address.slice(2), 'hex'));
console.log(`# index: ${index.size} keys, ${round(index.bytes / 2 ** 20)} MB shared, built in ${round((performance.now() - started) / 1000)} s`);

const config = ChainSchema.parse({
  family: 'evm',
  chainId: 1,
  native: { code: 'ETH', symbol: 'ETH', decimals: 18 },
  tokens: USDT_TOKENS.map((contract, i) => ({ code: `USDT-${i}`, symbol: 'USDT', contract, decimals: 6 })),
  rpc: { url, batchMax: RANGE_BLOCKS, logsBlockRangeMax: RANGE_BLOCKS },
}) as EvmChainConfig;
const adapter = createEvmAdapter('bench', config, { logger: pino({ level: 'warn' }), clock: systemClock, signal: new AbortController().signal });
const pool = createDecodePool({ threads: THREADS, queueMax: QUEUE_MAX, tasksPerThread: TASKS_PER_THREAD, recycle: (buffers) => rawBuffers.give(buffers) });
const handle = index.handle();
const options = adapter.decodeOptions();
/** Share of the settle run the main thread's event loop was busy (the rest: waiting on I/O and workers). */
let mainThreadBusy = 0;
/** CPU time per block (µs): this process (main thread + workers), and the node serving it. */
let cpuUsPerBlock = { settle: 0, node: 0 };

/** Fetches and decodes [from, from + count) in ranges, `RANGES_IN_FLIGHT` at a time; checks every block. */
async function runSettle(from: number, count: number): Promise<number> {
  let next = from;
  const end = from + count;
  async function lane(): Promise<void> {
    while (next < end) {
      const first = next;
      const last = Math.min(end, first + RANGE_BLOCKS) - 1;
      next = last + 1;
      const raws = await adapter.fetchBlocks(first, last);
      const tasks: Promise<DecodedBlock[]>[] = [];
      for (let i = 0; i < raws.length; i += TASK_BLOCKS) {
        tasks.push(pool.decode({ family: 'evm', chain: 'bench', blocks: raws.slice(i, i + TASK_BLOCKS) as RawBlock[], index: handle, options }));
      }
      for (const decoded of (await Promise.all(tasks)).flat()) check(decoded.height, decoded.matches.length, decoded.needsReceipt?.length ?? 0);
    }
  }
  const t0 = performance.now();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const serverCpuUs = await server.cpuUs();
  await Promise.all(Array.from({ length: RANGES_IN_FLIGHT }, lane));
  mainThreadBusy = performance.eventLoopUtilization(elu).utilization;
  const used = process.cpuUsage(cpu);
  cpuUsPerBlock = { settle: (used.user + used.system) / count, node: ((await server.cpuUs()) - serverCpuUs) / count };
  return count / ((performance.now() - t0) / 1000);
}

function check(height: number, matches: number, needsReceipt: number): void {
  const want = expected[height % sources.length] as number;
  if (matches !== want || needsReceipt !== 0) throw new Error(`block ${height}: ${matches} matches (${needsReceipt} need receipts), expected ${want}`);
}

await runSettle(HEIGHT_BASE + 1, WARMUP_BLOCKS);
const blocksPerS = await runSettle(HEIGHT_BASE + 1 + WARMUP_BLOCKS, BLOCKS);
console.log(`# settle: ${round(blocksPerS)} blocks/s (${BLOCKS} blocks, ranges of ${RANGE_BLOCKS}, ${RANGES_IN_FLIGHT} in flight, ${THREADS} worker threads, main thread ${round(mainThreadBusy * 100)}% busy); CPU per block: ${round(cpuUsPerBlock.settle)} µs settle, ${round(cpuUsPerBlock.node)} µs node; load average ${loadavg()[0]?.toFixed(2)}`);
await pool.close();

// Baseline: a Set of checksummed address strings (what ethers hands out), the same ranges.
// BENCH_BASELINE_SECONDS=0 skips it (for profiling Settle alone).
started = performance.now();
const watchedStrings = new Set<string>();
const baselineWatched = BASELINE_SECONDS > 0 ? WATCHED : 0;
for (let i = 0; i < baselineWatched; i += 1) watchedStrings.add(getAddress(`0x${random.toString('hex', i * 20, i * 20 + 20)}`));
for (const address of real.set) watchedStrings.add(getAddress(address));
console.log(`# baseline set of ${watchedStrings.size} addresses built in ${round((performance.now() - started) / 1000)} s`);
const provider = new JsonRpcProvider(url, Network.from(1), { staticNetwork: true });
const erc20 = new Interface(['event Transfer(address indexed from, address indexed to, uint256 value)']);

async function baselineRange(first: number, last: number): Promise<void> {
  const heights = Array.from({ length: last - first + 1 }, (_, i) => first + i);
  const [blocks, logs] = await Promise.all([
    Promise.all(heights.map((h) => provider.getBlock(h, true))),
    provider.getLogs({ fromBlock: first, toBlock: last, address: USDT_TOKENS, topics: [TRANSFER_TOPIC] }),
  ]);
  const matches = new Map<number, number>();
  for (const block of blocks) {
    if (block === null) throw new Error('baseline: missing block');
    let count = 0;
    for (const tx of block.prefetchedTransactions) {
      if (tx.value > 0n && tx.to !== null && watchedStrings.has(tx.to)) count += 1;
      if (tx.value > 0n && watchedStrings.has(tx.from)) count += 1;
    }
    matches.set(block.number, count);
  }
  for (const log of logs) {
    const parsed = erc20.parseLog(log);
    if (parsed === null) continue;
    const hits = (watchedStrings.has(getAddress(parsed.args[1] as string)) ? 1 : 0) + (watchedStrings.has(getAddress(parsed.args[0] as string)) ? 1 : 0);
    matches.set(log.blockNumber, (matches.get(log.blockNumber) ?? 0) + hits);
  }
  for (const height of heights) check(height, matches.get(height) ?? 0, 0);
}

async function runBaseline(from: number, seconds: number): Promise<number> {
  let next = from;
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  async function lane(): Promise<void> {
    while (performance.now() < deadline && next + RANGE_BLOCKS <= HEIGHT_BASE + heightsServed) {
      const first = next;
      next += RANGE_BLOCKS;
      await baselineRange(first, first + RANGE_BLOCKS - 1);
      done += RANGE_BLOCKS;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: RANGES_IN_FLIGHT }, lane));
  return done / ((performance.now() - t0) / 1000);
}

let baselinePerS = Number.NaN;
if (BASELINE_SECONDS > 0) {
  await runBaseline(HEIGHT_BASE + 1, 2);
  baselinePerS = await runBaseline(HEIGHT_BASE + 1 + WARMUP_BLOCKS, BASELINE_SECONDS);
}
console.log(`# baseline (ethers v6, 1 thread): ${round(baselinePerS)} blocks/s; load average ${loadavg()[0]?.toFixed(2)}`);
provider.destroy();
server.stop();
console.log(JSON.stringify({ bench: 'evm', blocks_per_s: round(blocksPerS), baseline_blocks_per_s: round(baselinePerS), ratio: round(blocksPerS / baselinePerS, 2), watched: WATCHED }));

/** Real USDT recipients to watch: every WATCH_EVERY-th, skipping any address that moves native
 * value in a source block (those would need receipts, which this node does not serve). */
function realWatched(blocks: SourceBlock[]): { set: Set<string> } {
  const native = new Set<string>();
  for (const block of blocks) {
    const { transactions } = JSON.parse(block.block) as { transactions: { from: string; to: string | null; value: string }[] };
    for (const tx of transactions) {
      if (BigInt(tx.value) === 0n) continue;
      native.add(tx.from.toLowerCase());
      if (tx.to !== null) native.add(tx.to.toLowerCase());
    }
  }
  const set = new Set<string>();
  let seen = 0;
  for (const block of blocks) {
    for (const log of block.logs) {
      const to = `0x${(log['topics'] as string[])[2]?.slice(26)}`;
      if (seen++ % WATCH_EVERY === 0 && !native.has(to)) set.add(to);
    }
  }
  return { set };
}

/** Credits and debits of a source block for the watched set, counted from its logs directly. */
function expectedMatches(block: SourceBlock, watched: ReadonlySet<string>): number {
  let count = 0;
  for (const log of block.logs) {
    const topics = log['topics'] as string[];
    if (topics.length !== 3) continue;
    if (watched.has(`0x${topics[2]?.slice(26)}`)) count += 1;
    if (watched.has(`0x${topics[1]?.slice(26)}`)) count += 1;
  }
  return count;
}

async function startServer(heights: number): Promise<{ port: number; cpuUs(): Promise<number>; stop(): void }> {
  const entry = fileURLToPath(new URL('./evm-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { env: { ...process.env, BENCH_EVM_HEIGHTS: String(heights) }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  // The node prints its notices (# …) too; its address is the one JSON line.
  const first = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('{')) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`the benchmark node exited with code ${code}`)));
  });
  const cpuUs = (): Promise<number> =>
    new Promise((resolve) => {
      child.once('message', (message) => resolve((message as { cpuUs: number }).cpuUs));
      child.send('cpu');
    });
  return { port: (JSON.parse(first) as { port: number }).port, cpuUs, stop: () => child.kill('SIGTERM') };
}
