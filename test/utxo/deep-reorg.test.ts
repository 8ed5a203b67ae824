// A reorg deeper than reorgDepthMax on a real litecoind regtest node: the chain's scanner halts
// with a clear error, /health turns red and settle_scanner_halted says so; nothing is applied on
// a chain Settle cannot reconcile.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { litecoindAvailable } from '../helpers/litecoind.ts';
import { litecoindSkipReason, startLtcTestChain, type LtcTestChain } from '../helpers/ltc-chain.ts';
import { startTestEngine, type TestEngine } from '../helpers/engine.ts';
import { waitFor } from '../helpers/wait.ts';
import { checkInvariants, formatViolations } from '../../src/ledger/invariants.ts';
import type { ChainRuntime } from '../../src/scan/runtime.ts';

const skip = litecoindSkipReason(litecoindAvailable());
let ltc: LtcTestChain | undefined;
let settle: TestEngine | undefined;
let runtime: ChainRuntime;
after(async () => {
  await settle?.stop();
  await ltc?.node.stop();
});

if (skip === undefined) {
  ltc = await startLtcTestChain();
  settle = await startTestEngine(import.meta.filename, { chains: ltc?.config() });
  runtime = settle.engine.chains.chains.get('ltc') as ChainRuntime;
}


async function scannedTo(height: number): Promise<void> {
  await waitFor(async () => ((runtime.scanner.status().tip?.height ?? -1) >= height ? true : undefined), { what: `the scanner to reach ${height}` });
}

async function assertLedgerConsistent(): Promise<void> {
  const violations = await checkInvariants(settle!.db.sql);
  assert.equal(violations.length, 0, formatViolations(violations));
}

test('a reorg deeper than reorgDepthMax halts the chain with a clear error and a metric', { skip }, async () => {
  const node = ltc!.node;
  await node.mine(10);
  await scannedTo(await node.height());
  const [tipBefore] = await settle!.db.sql<{ height: bigint }[]>`select max(height) as height from chain_blocks where chain = 'ltc' and orphaned_at is null`;
  const deep = await node.call<string>('getblockhash', [(await node.height()) - 7]); // 8 blocks deep > 6
  await node.call('invalidateblock', [deep]);
  await node.mine(10, await node.newAddress('legacy'));
  const status = await waitFor(async () => {
    const s = runtime.scanner.status();
    return s.halted !== undefined ? s : undefined;
  }, { what: 'the scanner to halt' });
  assert.match(status.halted ?? '', /unrecoverable reorg/);
  const health = await fetch(`${settle!.url}/health`);
  assert.equal(health.status, 503);
  const body = (await health.json()) as { components: Record<string, { status: string; detail: string }> };
  assert.equal(body.components['scanner:ltc']?.status, 'down');
  assert.match(body.components['scanner:ltc']?.detail ?? '', /reorgDepthMax 6/);
  const metric = await settle!.common.metrics.getSingleMetricAsString('settle_scanner_halted');
  assert.match(metric, /settle_scanner_halted\{chain="ltc"\} 1/);
  const [tipAfter] = await settle!.db.sql<{ height: bigint }[]>`select max(height) as height from chain_blocks where chain = 'ltc' and orphaned_at is null`;
  assert.equal(tipAfter?.height, tipBefore?.height, 'nothing of the other chain was applied or rolled back');
  await assertLedgerConsistent();
});
