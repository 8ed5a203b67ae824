// npm run bench:utxo — decode + match of full modern Bitcoin blocks against 1,000,000 watched
// scripts, through the decode pool (2 worker threads), and in the same run the baseline a typical
// Node gateway uses on one thread: bitcoinjs-lib Block.fromBuffer, getId() per transaction,
// address.fromOutputScript per output, Set lookups of address strings.
//
// Blocks: 702861 (segwit era, 1.38 MB, 2,500 txs) and 413567 (1.0 MB, 1,557 txs) from
// ../shared/fixtures; without that folder, generated blocks of the same shape (notice printed).
// Watched: 1,000,000 random keys plus the keys of some real outputs of the blocks, so matches
// exist and are checked on every decoded block. Each raw block is a fresh copy moved into the
// worker, as the fetcher's buffers are.
// Last line: {"bench":"utxo","blocks_per_s":…,"baseline_blocks_per_s":…,"ratio":…,"watched":1000000,"index_mb":…}

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as bitcoin from 'bitcoinjs-lib';
import { round } from './harness.ts';
import { generateBlock } from './utxo-generate.ts';
import { AddressIndex } from '../src/scan/address-index.ts';
import { createDecodePool, TASKS_PER_THREAD_DEFAULT } from '../src/scan/pool.ts';
import { parseBlock } from '../src/chains/utxo/block.ts';
import { scriptToKey } from '../src/chains/utxo/script.ts';
import { scriptToAddress } from '../src/chains/utxo/address.ts';
import { addressParams } from '../src/chains/utxo/networks.ts';
import type { DecodedBlock, DecodeTask, RawBlock } from '../src/scan/types.ts';

const WATCHED = Number(process.env.BENCH_WATCHED ?? 1_000_000);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const BLOCKS_PER_TASK = Number(process.env.BENCH_BLOCKS_PER_TASK ?? 4);
const QUEUE_MAX = Number(process.env.BENCH_QUEUE_MAX ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 4);
/** Every Nth keyed output of a block is watched, so each block has real matches. */
const WATCH_EVERY = 400;

interface BenchBlock {
  name: string;
  bytes: Uint8Array;
}

function loadBlocks(): { blocks: BenchBlock[]; source: string } {
  const dir = fileURLToPath(new URL('../../shared/fixtures/btc/mainnet/', import.meta.url));
  const files = [
    ['702861', 'block702861_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw'],
    ['413567', 'block413567.raw'],
  ] as const;
  if (files.every(([, file]) => existsSync(dir + file))) {
    return { blocks: files.map(([name, file]) => ({ name, bytes: new Uint8Array(readFileSync(dir + file)) })), source: dir };
  }
  console.log(`# NOTICE: ${dir} not found: benchmarking generated blocks of the same shape instead of real ones`);
  return {
    blocks: [
      { name: 'generated-segwit', bytes: generateBlock({ seed: 702861, transactions: 2500, segwitShare: 0.8 }) },
      { name: 'generated-legacy', bytes: generateBlock({ seed: 413567, transactions: 1557, segwitShare: 0 }) },
    ],
    source: 'generated',
  };
}

const params = addressParams('btc', 'mainnet');
const { blocks, source } = loadBlocks();

// The index: real output keys of the blocks first, then random keys of the usual types.
const index = new AddressIndex({ capacity: WATCHED });
const watchedAddresses = new Set<string>();
const expectedMatches = new Map<string, number>();
for (const block of blocks) {
  const layout = parseBlock(block.bytes, { mweb: false });
  let keyed = 0;
  for (let o = 0; o < layout.outputCount; o++) {
    const at = layout.outputScriptAt[o] as number;
    const script = block.bytes.subarray(at, at + (layout.outputScriptLength[o] as number));
    const key = scriptToKey(script);
    if (key === undefined || keyed++ % WATCH_EVERY !== 0) continue;
    index.addKey(key);
    watchedAddresses.add(scriptToAddress(script, 0, script.length, params) as string);
  }
}
const realKeys = index.size;
const typeSizes = [21, 21, 21, 33, 33];
while (index.size < WATCHED) {
  const key = randomBytes(typeSizes[index.size % typeSizes.length] as number);
  key[0] = 1 + (index.size % 5);
  index.addKey(key);
}
/** Baseline set: the real addresses plus random strings of address length (a Set lookup costs the
 * same whether or not the string is a valid address). Built after the pool phase: a million
 * strings on the main heap would slow every main-thread GC during it, which is not what the pool
 * costs. */
function baselineAddressSet(): Set<string> {
  const set = new Set<string>(watchedAddresses);
  while (set.size < WATCHED) set.add(`bc1q${randomBytes(24).toString('base64url').slice(0, 38).toLowerCase()}`);
  return set;
}


const TASKS_PER_THREAD = Number(process.env.BENCH_TASKS_PER_THREAD ?? TASKS_PER_THREAD_DEFAULT);
/** Reuse the raw buffers the workers hand back (a fetcher's buffer pool) instead of a new
 * allocation per block; each block is still copied into its buffer, as a fetch would write it. */
const RECYCLE = process.env.BENCH_RECYCLE !== '0';
const freeBuffers = new Map<number, ArrayBuffer[]>();
const pool = createDecodePool({
  threads: THREADS,
  queueMax: QUEUE_MAX,
  tasksPerThread: TASKS_PER_THREAD,
  recycle: RECYCLE ? (buffers) => buffers.forEach((buffer) => freeBuffers.get(buffer.byteLength)?.push(buffer) ?? freeBuffers.set(buffer.byteLength, [buffer])) : undefined,
});

console.log(`# utxo bench: blocks from ${source}; ${WATCHED} watched keys (${realKeys} real output scripts); index ${round(index.bytes / 1e6)} MB shared; ${THREADS} threads, ${BLOCKS_PER_TASK} blocks per task; buffers ${RECYCLE ? 'reused' : 'allocated per block'}`);

function blockBuffer(block: BenchBlock): ArrayBuffer {
  const reused = freeBuffers.get(block.bytes.length)?.pop();
  if (reused === undefined) return block.bytes.slice().buffer;
  new Uint8Array(reused).set(block.bytes);
  return reused;
}

/** A task of fresh copies of the block, one copy per event-loop turn (as a fetcher receives
 * blocks), so that the main thread stays free to hand finished workers their next task. */
async function task(block: BenchBlock): Promise<DecodeTask> {
  const raws: RawBlock[] = [];
  for (let i = 0; i < BLOCKS_PER_TASK; i++) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    raws.push({ height: 0, parts: [blockBuffer(block)] });
  }
  return { family: 'utxo', chain: 'btc', blocks: raws, index: index.handle(), options: { coin: 'btc', network: 'mainnet' } };
}

function checkMatches(block: BenchBlock, decoded: DecodedBlock[]): void {
  for (const result of decoded) {
    const count = result.matches.length;
    const expected = expectedMatches.get(block.name);
    if (expected === undefined) expectedMatches.set(block.name, count);
    else if (expected !== count) throw new Error(`block ${block.name}: ${count} matches, earlier ${expected}`);
    if (count === 0) throw new Error(`block ${block.name}: no matches although some of its outputs are watched`);
  }
}

/** CPU time (ms) of each thread of this process, from /proc (Linux); empty elsewhere. */
function threadCpuMs(): Map<string, number> {
  const times = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      times.set(tid, (Number(fields[11]) + Number(fields[12])) * 10);
    }
  } catch {
    // Not Linux: the breakdown is left out.
  }
  return times;
}

/** Keeps the pool full (threads + queue) for `seconds`; returns blocks/s. Also prints the CPU
 * time of the whole process (main thread + workers) per block, which does not depend on what
 * else the machine runs. */
async function runPool(block: BenchBlock, seconds: number, report = false): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let decodedBlocks = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const threadsStart = threadCpuMs();
  const feeders = Array.from({ length: THREADS * TASKS_PER_THREAD + QUEUE_MAX }, async () => {
    while (performance.now() < deadline) {
      const decoded = await pool.decode(await task(block));
      checkMatches(block, decoded);
      decodedBlocks += decoded.length;
    }
  });
  await Promise.all(feeders);
  const cpu = process.cpuUsage(cpuStart);
  const elapsedS = (performance.now() - started) / 1000;
  if (report) {
    const perThread = [...threadCpuMs()].map(([tid, ms]) => ({ tid, us: ((ms - (threadsStart.get(tid) ?? 0)) * 1000) / decodedBlocks })).filter((t) => t.us > 0);
    const main = perThread.find((t) => t.tid === String(process.pid));
    const others = perThread.filter((t) => t !== main).sort((a, b) => b.us - a.us).map((t) => round(t.us));
    console.log(`# ${block.name}: ${round((cpu.user + cpu.system) / decodedBlocks)} µs CPU per block (all threads; ${round(cpu.system / decodedBlocks)} µs system), ${round((cpu.user + cpu.system) / 1e6 / elapsedS, 2)} cores busy; load average ${loadavg()[0]?.toFixed(2)}`);
    if (main !== undefined) console.log(`#   per thread, µs per block: main ${round(main.us)}, others (workers first, then V8/libuv helpers) ${others.join(', ')}`);
  }
  return decodedBlocks / elapsedS;
}

/** The usual gateway loop, on the main thread. */
function runBaseline(block: BenchBlock, seconds: number, addressSet: Set<string>): number {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let count = 0;
  const buffer = Buffer.from(block.bytes);
  while (performance.now() < deadline) {
    const parsed = bitcoin.Block.fromBuffer(buffer);
    let matched = 0;
    for (const tx of parsed.transactions ?? []) {
      const txid = tx.getId();
      for (const output of tx.outs) {
        let address: string;
        try {
          address = bitcoin.address.fromOutputScript(output.script, bitcoin.networks.bitcoin);
        } catch {
          continue; // OP_RETURN and other scripts without an address: not a payment to us
        }
        if (addressSet.has(address) && txid.length === 64) matched++;
      }
    }
    if (matched !== expectedMatches.get(block.name)) throw new Error(`baseline found ${matched} matches in ${block.name}, pool ${expectedMatches.get(block.name)}`);
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

// Warm-up: thread start, tsx compile, JIT.
for (const block of blocks) await runPool(block, 1);

let poolBlocks = 0;
let poolSeconds = 0;
let baselineBlocks = 0;
let baselineSeconds = 0;
for (const block of blocks) {
  const rate = await runPool(block, SECONDS, true);
  poolBlocks += rate * SECONDS;
  poolSeconds += SECONDS;
  console.log(`# ${block.name}: ${round(rate)} blocks/s through the pool (${expectedMatches.get(block.name)} matches per block)`);
}
await pool.close();
const addressSet = baselineAddressSet();
for (const block of blocks) {
  const rate = runBaseline(block, BASELINE_SECONDS, addressSet);
  baselineBlocks += rate * BASELINE_SECONDS;
  baselineSeconds += BASELINE_SECONDS;
  console.log(`# ${block.name}: ${round(rate, 2)} blocks/s baseline (bitcoinjs-lib, one thread)`);
}

const blocksPerS = poolBlocks / poolSeconds;
const baselinePerS = baselineBlocks / baselineSeconds;
console.log(JSON.stringify({
  bench: 'utxo',
  blocks_per_s: round(blocksPerS),
  baseline_blocks_per_s: round(baselinePerS, 2),
  ratio: round(blocksPerS / baselinePerS, 1),
  watched: index.size,
  index_mb: round(index.bytes / 1e6, 1),
}));
