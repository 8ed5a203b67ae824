// Scanner metrics (settle_scanner_*, settle_chain_*). One set per registry, labelled by chain.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ScanMetrics {
  blocks: Counter<'chain'>;
  matches: Counter<'chain' | 'kind'>;
  reorgs: Counter<'chain'>;
  reorgDepth: Histogram<'chain'>;
  headHeight: Gauge<'chain'>;
  scannedHeight: Gauge<'chain'>;
  lagBlocks: Gauge<'chain'>;
  applySeconds: Histogram<'chain'>;
  applyBlocks: Histogram<'chain'>;
  queueDepth: Gauge<'chain'>;
  rpcErrors: Counter<'chain' | 'call' | 'kind'>;
  halted: Gauge<'chain'>;
  paymentsPosted: Counter<'chain'>;
  paymentsOrphaned: Counter<'chain'>;
}

const cache = new WeakMap<Registry, ScanMetrics>();

export function scanMetrics(registry: Registry): ScanMetrics {
  const existing = cache.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const metrics: ScanMetrics = {
    blocks: new Counter({ name: 'settle_scanner_blocks_total', help: 'Blocks applied', labelNames: ['chain'], registers }),
    matches: new Counter({ name: 'settle_scanner_matches_total', help: 'Matches found in applied blocks, by kind (credit, spend, debit)', labelNames: ['chain', 'kind'], registers }),
    reorgs: new Counter({ name: 'settle_scanner_reorgs_total', help: 'Reorgs followed', labelNames: ['chain'], registers }),
    reorgDepth: new Histogram({ name: 'settle_scanner_reorg_depth_blocks', help: 'Depth of each reorg followed, in blocks', labelNames: ['chain'], buckets: [1, 2, 3, 5, 8, 13, 21, 34, 55, 100], registers }),
    headHeight: new Gauge({ name: 'settle_chain_head_height_blocks', help: 'Height of the node\'s chain head', labelNames: ['chain'], registers }),
    scannedHeight: new Gauge({ name: 'settle_scanner_height_blocks', help: 'Height of the last block applied', labelNames: ['chain'], registers }),
    lagBlocks: new Gauge({ name: 'settle_scanner_lag_blocks', help: 'Chain head minus the last block applied', labelNames: ['chain'], registers }),
    applySeconds: new Histogram({ name: 'settle_scanner_apply_duration_seconds', help: 'Duration of one apply transaction (blocks, payments, transfers, settlement)', labelNames: ['chain'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
    applyBlocks: new Histogram({ name: 'settle_scanner_apply_batch_blocks', help: 'Blocks per apply transaction', labelNames: ['chain'], buckets: [1, 2, 5, 10, 25, 50, 100, 250, 1000], registers }),
    queueDepth: new Gauge({ name: 'settle_scanner_worker_queue_depth', help: 'Decode tasks waiting for a worker thread', labelNames: ['chain'], registers }),
    rpcErrors: new Counter({ name: 'settle_rpc_errors_total', help: 'Failed node calls by call and kind (retryable, non_retryable)', labelNames: ['chain', 'call', 'kind'], registers }),
    halted: new Gauge({ name: 'settle_scanner_halted', help: '1 when the chain\'s scanner halted (e.g. a reorg deeper than reorgDepthMax)', labelNames: ['chain'], registers }),
    paymentsPosted: new Counter({ name: 'settle_payments_confirmed_total', help: 'Payments that reached their confirmations and were posted', labelNames: ['chain'], registers }),
    paymentsOrphaned: new Counter({ name: 'settle_payments_orphaned_total', help: 'Payments whose block left the chain', labelNames: ['chain'], registers }),
  };
  cache.set(registry, metrics);
  return metrics;
}
