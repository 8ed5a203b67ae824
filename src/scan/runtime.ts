// Assembles and runs the scanners of the configured chains: for each, its family's adapter, the
// ledgers of its assets, its derivation key (pre-derived pool), its address index, applier and
// scanner. Adding a chain is configuration: the family fills the same slots.

import type { ChainConfig } from '../config.ts';
import type { Common } from '../common.ts';
import type { Sql, TransactionSql } from '../db/client.ts';
import type { Health } from '../health.ts';
import { ensureLedger } from '../ledger/accounts.ts';
import type { AccountCache } from '../ledger/chart.ts';
import type { LedgerWriter } from '../ledger/transfers.ts';
import { createAddressPool, type AddressKeySpec, type AddressPool } from '../addresses/pool.ts';
import { createFamilyAdapter, createFamilyKeySpec } from '../chains/families.ts';
import { AddressIndex } from './address-index.ts';
import { addressOwnerHooks, createApplier, type AddressRecord, type ChainAsset, type PaymentHooks } from './applier.ts';
import { rawBuffers } from './buffers.ts';
import { createDecodePool, type DecodePool } from './pool.ts';
import { selectLiveOutpoints } from './payments.ts';
import { createScanner, type Scanner } from './scanner.ts';
import { scanMetrics } from './metrics.ts';
import type { ChainAdapter } from './types.ts';

export interface ChainRuntime {
  chain: string;
  config: ChainConfig;
  adapter: ChainAdapter;
  assets: ChainAsset[];
  keySpec: AddressKeySpec | undefined;
  index: AddressIndex;
  scanner: Scanner;
  /** Resolves when the scanner stops (shutdown or halt). */
  done: Promise<void>;
}

export interface ChainsRuntime {
  chains: Map<string, ChainRuntime>;
  addressPool: AddressPool;
  decodePool: DecodePool;
}

export interface StartChainsDeps {
  common: Common;
  sql: Sql;
  /** For each scanner's lock session (a connection of its own). */
  databaseUrl: string;
  health: Health;
  writer: LedgerWriter;
  accounts: AccountCache;
  hooks?: PaymentHooks;
}

/** The assets a chain credits, with their ledgers created. */
export async function chainAssets(sql: Sql, chain: string, config: ChainConfig): Promise<ChainAsset[]> {
  const native = config.family === 'utxo'
    ? config.native ?? { code: config.coin.toUpperCase(), symbol: config.coin.toUpperCase(), decimals: 8 }
    : config.native;
  const specs = [
    { code: native.code, symbol: native.symbol, decimals: native.decimals, confirmations: native.confirmations, matchKey: 'native', contract: undefined as string | undefined },
    ...(config.family === 'utxo' ? [] : config.tokens.map((t) => ({
      code: t.code, symbol: t.symbol, decimals: t.decimals, confirmations: t.confirmations,
      matchKey: config.family === 'evm' ? t.contract.toLowerCase() : t.contract, contract: t.contract as string | undefined,
    }))),
  ];
  const assets: ChainAsset[] = [];
  for (const spec of specs) {
    const ledger = await ensureLedger(sql, { code: spec.code, chain, asset: spec.symbol, decimals: spec.decimals });
    assets.push({
      code: spec.code, symbol: spec.symbol, ledgerId: ledger.id, decimals: spec.decimals,
      confirmations: spec.confirmations ?? config.confirmations, matchKey: spec.matchKey, contract: spec.contract,
    });
  }
  return assets;
}

export async function startChains(deps: StartChainsDeps): Promise<ChainsRuntime> {
  const { common, sql } = deps;
  const { config, logger, shutdown } = common;
  // Raw block buffers come back from the workers and serve the next blocks (buffers.ts).
  const decodePool = createDecodePool({ threads: config.scan.workerThreads, queueMax: config.scan.workerQueueMax, recycle: (buffers) => rawBuffers.give(buffers) });
  const addressPool = createAddressPool(sql, logger);
  const chains = new Map<string, ChainRuntime>();
  for (const [chain, chainConfig] of Object.entries(config.chains)) {
    if (!chainConfig.enabled) continue;
    const runtime = await startChain(deps, chain, chainConfig, decodePool, addressPool);
    chains.set(chain, runtime);
  }
  shutdown.onShutdown('scanners', async () => {
    await Promise.allSettled([...chains.values()].map((c) => c.done));
    await decodePool.close();
  });
  return { chains, addressPool, decodePool };
}

async function startChain(deps: StartChainsDeps, chain: string, config: ChainConfig, decodePool: DecodePool, addressPool: AddressPool): Promise<ChainRuntime> {
  const { common, sql } = deps;
  const { logger, shutdown } = common;
  const adapter = createFamilyAdapter(chain, config, { logger: logger.child({ chain }), clock: common.clock, signal: shutdown.signal });
  const assets = await chainAssets(sql, chain, config);
  const keySpec = createFamilyKeySpec(config);
  if (keySpec !== undefined) await addressPool.refill(keySpec);
  else logger.warn({ chain }, 'no xpub configured: this chain has no deposit addresses to watch');

  const index = new AddressIndex({ outpoints: config.family === 'utxo' });
  if (config.family === 'utxo') {
    for (const { txid, vout } of await selectLiveOutpoints(sql, chain)) index.addOutpoint(Buffer.from(txid, 'hex').reverse(), vout);
  }
  const keyIds = keySpec === undefined ? [] : [keySpec.id];
  const applier = createApplier({
    sql,
    chain,
    writer: deps.writer,
    accounts: deps.accounts,
    assets,
    lookupAddresses: (tx, keys) => lookupAddresses(tx, keyIds, keys),
    hooks: deps.hooks ?? addressOwnerHooks,
    logger: logger.child({ chain }),
    metrics: scanMetrics(common.metrics),
  });
  const scanner = createScanner({
    common,
    sql,
    databaseUrl: deps.databaseUrl,
    chain,
    settings: config,
    adapter,
    pool: decodePool,
    index,
    applier,
    health: deps.health,
    keyIds,
    onApplied: (batch) => {
      if (config.family !== 'utxo') return;
      // Our new outputs join the spend index, so the block that spends them is seen.
      for (const p of batch.payments) index.addOutpoint(Buffer.from(p.txid, 'hex').reverse(), p.position);
    },
  });
  const done = scanner.run();
  return { chain, config, adapter, assets, keySpec, index, scanner, done };
}

async function lookupAddresses(tx: TransactionSql, keyIds: string[], keys: string[]): Promise<Map<string, AddressRecord>> {
  if (keyIds.length === 0 || keys.length === 0) return new Map();
  const rows = await tx<{ id: bigint; address: string; owner: string | null; reference: string | null; index_key: Buffer }[]>`
    select id, address, owner, reference, index_key from addresses
    where key_id = any(${keyIds}::text[]) and index_key in (select decode(k, 'hex') from unnest(${keys}::text[]) as k)`;
  return new Map(rows.map((r) => [r.index_key.toString('hex'), { id: r.id, address: r.address, owner: r.owner ?? undefined, reference: r.reference ?? undefined }]));
}
