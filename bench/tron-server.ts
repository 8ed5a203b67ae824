// The loopback TRON node of the TRON benchmark (test/helpers/tron-node.ts), run as a child
// process so it does not share an event loop with what is measured. It serves heights
// [BENCH_TRON_START, BENCH_TRON_START + BENCH_TRON_HEIGHTS) rendered from generated templates
// (tron-blocks.ts), and prints one JSON line on stdout once listening:
//   {"url":…,"start":…,"heights":…,"watched":[hex bodies],"expected":[matches per template],"txs":…}

import { performance } from 'node:perf_hooks';
import { tronAddressToBodyHex } from '../src/chains/tron/address.ts';
import { startTronNode } from '../test/helpers/tron-node.ts';
import { USDT } from '../test/helpers/tron-txs.ts';
import { generateChain, renderChain } from './tron-blocks.ts';

const START = Number(process.env.BENCH_TRON_START ?? 60_000_000);
const HEIGHTS = Number(process.env.BENCH_TRON_HEIGHTS ?? 6_000);
const TEMPLATES = Number(process.env.BENCH_TRON_TEMPLATES ?? 40);
const TXS_PER_BLOCK = Number(process.env.BENCH_TRON_TXS ?? 300);

const started = performance.now();
const chain = generateChain(TEMPLATES, TXS_PER_BLOCK);
const blocks = renderChain(chain, START, HEIGHTS);
const node = await startTronNode({ blocks, tokens: [{ hex: `41${tronAddressToBodyHex(USDT)}`, name: 'TetherToken', decimals: 6 }] });
const blockBytes = chain.templates.reduce((sum, t) => sum + t.txsJson.length, 0) / chain.templates.length;
const infoBytes = chain.templates.reduce((sum, t) => sum + t.infoPieces.reduce((s, p) => s + p.length, 0), 0) / chain.templates.length;
console.log(
  JSON.stringify({
    url: node.url,
    start: START,
    heights: HEIGHTS,
    templates: TEMPLATES,
    txs: TXS_PER_BLOCK,
    watched: chain.watched,
    expected: chain.templates.map((t) => t.expectedMatches),
    blockKb: Math.round(blockBytes / 1024),
    infosKb: Math.round(infoBytes / 1024),
    builtS: Math.round((performance.now() - started) / 100) / 10,
  }),
);
const cpuListening = process.cpuUsage();
process.on('SIGUSR2', () => {
  const cpu = process.cpuUsage(cpuListening);
  process.stderr.write(`# bench node: ${Math.round((cpu.user + cpu.system) / 1e3)} ms CPU since listening\n`);
});
process.on('SIGTERM', () => {
  void node.close().then(() => process.exit(0));
});
