// One chain's scanner: the loop that pulls heads from the node, fetches blocks ahead (bounded),
// decodes them in the worker pool, checks that each extends the chain it has applied, and hands
// them to the applier in order — many per transaction while catching up, one at the tip. A reorg
// is walked back (bounded) and rolled back before going on; a reorg past reorgDepthMax, or a
// response that cannot be trusted, halts the chain loudly (metric, log, /health) and never
// continues silently. One scanner per chain holds a Postgres advisory lock; others stand by.

import type { ChainConfig } from '../config.ts';
import type { Common } from '../common.ts';
import type { Sql } from '../db/client.ts';
import { BlockDecodeError, NonRetryableError, RetryableError } from '../errors.ts';
import { isDatabaseUnavailable } from '../db/availability.ts';
import type { Health } from '../health.ts';
import { backoffDelayMs } from '../retry.ts';
import { selectAddressKeysAfter } from '../addresses/pool.ts';
import type { Applier, AppliedBatch } from './applier.ts';
import { loadWindow, pruneBlocksBelow } from './blocks.ts';
import { classifyHead, extendsTip, findCommonAncestor } from './follower.ts';
import { scanMetrics, type ScanMetrics } from './metrics.ts';
import type { AddressIndex } from './address-index.ts';
import type { DecodePool } from './pool.ts';
import type { BlockRef, ChainAdapter, DecodedBlock } from './types.ts';
import { acquireScannerLock, type ScannerLock } from './scanner-lock.ts';

/** Blocks per decode task: big enough to amortize a task, small enough to keep workers even. */
const TASK_BLOCKS_MAX = 8;
const BACKOFF_MAX_MS = 30_000;
/** The longest pause between attempts while the database is away, so scanning resumes promptly. */
const DATABASE_RETRY_MAX_MS = 2_000;
const PRUNE_EVERY_STEPS = 50;
/** Consecutive failures of an unexpected kind (not known to be transient) before the chain halts. */
const UNEXPECTED_FAILURES_MAX = 5;

export interface ScannerDeps {
  common: Common;
  sql: Sql;
  /** The database the scanner lock session connects to (the pool's own URL). */
  databaseUrl: string;
  chain: string;
  settings: Pick<ChainConfig, 'reorgDepthMax' | 'pollIntervalMs' | 'prefetchBlocksMax' | 'batchBlocksMax' | 'startHeight'>;
  adapter: ChainAdapter;
  pool: DecodePool;
  index: AddressIndex;
  applier: Applier;
  health: Health;
  /** Address keys whose derived addresses this chain watches. */
  keyIds: string[];
  /** Called after each committed batch (utxo: add our new outputs to the spend index). */
  onApplied?: (batch: AppliedBatch) => void;
}

export interface ScannerStatus {
  tip: BlockRef | undefined;
  headHeight: number | undefined;
  halted: string | undefined;
  standby: boolean;
}

export interface Scanner {
  /** Runs until shutdown or a halt; resolves then (a halt is reported, not thrown). */
  run(): Promise<void>;
  status(): ScannerStatus;
}

class ReorgDetected extends Error {
  constructor(readonly atHeight: number) {
    super(`reorg detected at height ${atHeight}`);
  }
}

export function createScanner(deps: ScannerDeps): Scanner {
  const { common, sql, chain, adapter, pool, index, applier, health, settings } = deps;
  const { logger, clock, shutdown } = common;
  const metrics: ScanMetrics = scanMetrics(common.metrics);
  const log = logger.child({ chain });
  const component = `scanner:${chain}`;
  const windowMax = settings.reorgDepthMax + 1;
  let window: BlockRef[] = [];
  let headHeight: number | undefined;
  let halted: string | undefined;
  let standby = false;
  let lastAddressId = 0n;
  let steps = 0;
  let firstRunFrom: number | undefined;

  async function loadNewAddresses(): Promise<void> {
    if (deps.keyIds.length === 0) return;
    for (;;) {
      const rows = await selectAddressKeysAfter(sql, deps.keyIds, lastAddressId);
      for (const row of rows) index.addKey(row.indexKey);
      if (rows.length === 0) return;
      lastAddressId = rows[rows.length - 1]?.id ?? lastAddressId;
    }
  }

  async function call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      metrics.rpcErrors.inc({ chain, call: name, kind: error instanceof RetryableError ? 'retryable' : 'non_retryable' });
      throw error;
    }
  }

  /** Fetch + decode [from, to] with at most prefetchBlocksMax blocks in flight, yielding blocks in order. */
  async function* decoded(from: number, to: number): AsyncGenerator<DecodedBlock> {
    const chunks: Array<{ from: number; to: number }> = [];
    for (let h = from; h <= to; h += TASK_BLOCKS_MAX) chunks.push({ from: h, to: Math.min(to, h + TASK_BLOCKS_MAX - 1) });
    const inFlightMax = Math.max(1, Math.floor(settings.prefetchBlocksMax / TASK_BLOCKS_MAX));
    const pending: Array<Promise<DecodedBlock[]>> = [];
    let next = 0;
    const start = () => {
      const chunk = chunks[next++];
      if (chunk === undefined) return;
      const work = (async () => {
        const raw = await call('fetchBlocks', () => adapter.fetchBlocks(chunk.from, chunk.to));
        const blocks = await pool.decode({ family: adapter.family, chain, blocks: raw, index: index.handle(), options: adapter.decodeOptions() });
        metrics.queueDepth.set({ chain }, pool.queueDepth());
        return adapter.confirm === undefined ? blocks : Promise.all(blocks.map((b) => call('confirm', () => adapter.confirm!(b))));
      })();
      work.catch(() => {}); // observed when awaited below; avoid an unhandled rejection meanwhile
      pending.push(work);
    };
    try {
      while (pending.length < inFlightMax && next < chunks.length) start();
      while (pending.length > 0) {
        const blocks = await (pending.shift() as Promise<DecodedBlock[]>);
        start();
        for (const block of blocks) yield block;
      }
    } finally {
      // A reorg or shutdown stopped us early: let fetches in flight finish quietly.
      await Promise.allSettled(pending);
    }
  }

  async function applyBatch(blocks: DecodedBlock[], finalizedHeight: number | undefined): Promise<void> {
    const batch = await applier.apply(blocks, finalizedHeight);
    window.push(...batch.blocks.map((b) => ({ height: b.height, hash: b.hash, parentHash: b.parentHash })));
    if (window.length > windowMax) window = window.slice(window.length - windowMax);
    const tip = window[window.length - 1] as BlockRef;
    metrics.scannedHeight.set({ chain }, tip.height);
    if (headHeight !== undefined) metrics.lagBlocks.set({ chain }, Math.max(0, headHeight - tip.height));
    deps.onApplied?.(batch);
    if (batch.payments.length > 0 || batch.confirmed.length > 0) {
      log.info({ height: tip.height, detected: batch.payments.length, confirmed: batch.confirmed.length }, 'payments applied');
    }
  }

  /** Applies [from, to]; throws ReorgDetected when a block does not extend the applied chain. */
  async function processRange(from: number, to: number, finalizedHeight: number | undefined): Promise<void> {
    let batch: DecodedBlock[] = [];
    const tipOf = () => batch[batch.length - 1] ?? window[window.length - 1];
    for await (const block of decoded(from, to)) {
      if (shutdown.signal.aborted) break;
      if (!extendsTip(tipOf(), block)) {
        if (batch.length > 0) await applyBatch(batch, finalizedHeight);
        throw new ReorgDetected(block.height);
      }
      batch.push(block);
      if (batch.length >= settings.batchBlocksMax) {
        await applyBatch(batch, finalizedHeight);
        batch = [];
      }
    }
    if (batch.length > 0 && !shutdown.signal.aborted) await applyBatch(batch, finalizedHeight);
  }

  async function handleReorg(finalizedHeight: number | undefined): Promise<void> {
    const tip = window[window.length - 1] as BlockRef;
    const ancestor = await findCommonAncestor(chain, window, (h) => call('blockRef', () => adapter.blockRef(h)), settings.reorgDepthMax);
    const depth = tip.height - ancestor;
    const { payments } = await applier.rollback(ancestor);
    window = window.filter((b) => b.height <= ancestor);
    metrics.reorgs.inc({ chain });
    metrics.reorgDepth.observe({ chain }, depth);
    log.warn({ depth, from: tip.height, ancestor, orphanedPayments: payments.length, finalizedHeight }, 'reorg: rolled back to the common ancestor');
  }

  async function step(): Promise<'idle' | 'busy'> {
    const head = await call('head', () => adapter.head());
    const finalizedHeight = await call('finalizedHeight', () => adapter.finalizedHeight());
    headHeight = head.height;
    metrics.headHeight.set({ chain }, head.height);
    // Addresses are loaded after the head is read: any block up to that head was mined after
    // the addresses it pays were handed out, so they are in the index before it is decoded.
    await loadNewAddresses();
    const tip = window[window.length - 1];
    const kind = classifyHead(tip, head);
    if (kind === 'same') return 'idle';
    try {
      if (kind === 'start') {
        // A first run cut short before its first block committed (the database went away)
        // starts again where it first meant to, not at the newer head: nothing in between is skipped.
        const from = settings.startHeight ?? firstRunFrom ?? head.height;
        firstRunFrom = from;
        log.info({ from, head: head.height }, 'first run: scanning from here');
        await processRange(from, Math.min(head.height, from + settings.batchBlocksMax * 10), finalizedHeight);
      } else if (kind === 'behind') {
        throw new ReorgDetected(head.height);
      } else {
        const from = (tip as BlockRef).height + 1;
        await processRange(from, Math.min(head.height, from + settings.batchBlocksMax * 10 - 1), finalizedHeight);
      }
    } catch (error) {
      if (!(error instanceof ReorgDetected)) throw error;
      await handleReorg(finalizedHeight);
    }
    // Blocks older than the window are past any reorg we follow; forget those nothing refers to.
    const oldest = window[0];
    if (window.length >= windowMax && oldest !== undefined && ++steps % PRUNE_EVERY_STEPS === 0) {
      await pruneBlocksBelow(sql, chain, oldest.height);
    }
    return 'busy';
  }

  function onStandby(): void {
    if (!standby) log.info('another process scans this chain; standing by');
    standby = true;
    health.set(component, 'ok', 'standby: another process holds the scanner lock');
  }

  /** Scans while `lock` is held; 'lost' when its session ended, 'stopped' at shutdown. Throws to halt. */
  async function scanWhileHeld(lock: ScannerLock): Promise<'lost' | 'stopped'> {
    standby = false;
    let ready = false;
    let failures = 0;
    while (!shutdown.signal.aborted) {
      if (!lock.held()) return 'lost';
      try {
        if (!ready) {
          // Another process may have scanned while the lock was not ours: start from the database.
          await call('verify', () => adapter.verify());
          window = await loadWindow(sql, chain, windowMax);
          const tip = window[window.length - 1];
          if (tip !== undefined) metrics.scannedHeight.set({ chain }, tip.height);
          metrics.halted.set({ chain }, 0);
          log.info({ tip: tip?.height }, tip === undefined ? 'scanner started (first run)' : 'scanner resumed');
          ready = true;
        }
        const outcome = await step();
        failures = 0;
        health.set(component, 'ok', `at ${window[window.length - 1]?.height ?? '-'} of ${headHeight ?? '-'}`);
        if (outcome === 'idle') await clock.sleep(settings.pollIntervalMs, shutdown.signal);
      } catch (error) {
        // A block that fails to decode may be a download cut short: it counts as unexpected
        // (retried, then halting) rather than halting at once like a reorg past the bound.
        if (error instanceof NonRetryableError && !(error instanceof BlockDecodeError)) throw error;
        failures += 1;
        // An unexpected error (a worker's decode failure arrives as a plain Error) may be a
        // truncated download: try again a few times, then halt rather than loop forever.
        const databaseAway = isDatabaseUnavailable(error);
        if (!(error instanceof RetryableError || databaseAway || isSerializationFailure(error)) && failures >= UNEXPECTED_FAILURES_MAX) throw error;
        // The database coming back is noticed within seconds, however long it was away.
        const maxDelayMs = databaseAway ? Math.min(BACKOFF_MAX_MS, DATABASE_RETRY_MAX_MS) : BACKOFF_MAX_MS;
        const delayMs = backoffDelayMs(failures, { baseDelayMs: Math.min(settings.pollIntervalMs, maxDelayMs), maxDelayMs });
        health.set(component, 'degraded', databaseAway ? 'waiting for the database' : (error as Error).message);
        log.warn({ err: error, failures, retryInMs: delayMs }, 'scan step failed; retrying');
        await clock.sleep(delayMs, shutdown.signal);
      }
    }
    return 'stopped';
  }

  async function run(): Promise<void> {
    while (!shutdown.signal.aborted) {
      const lock = await acquireScannerLock({ url: deps.databaseUrl, chain, clock, signal: shutdown.signal, logger: log, onStandby });
      if (lock === undefined) return;
      try {
        if ((await scanWhileHeld(lock)) === 'stopped') return;
        health.set(component, 'degraded', 'scanner lock lost with its database session; taking it again');
      } catch (error) {
        halted = (error as Error).message;
        metrics.halted.set({ chain }, 1);
        health.set(component, 'down', `halted: ${halted}`);
        log.error({ err: error }, 'scanner halted');
        return;
      } finally {
        await lock.release();
      }
    }
  }

  return {
    run,
    status: () => ({ tip: window[window.length - 1], headHeight, halted, standby }),
  };
}

/** A serialization failure or deadlock: the transaction is worth another try after a pause. */
function isSerializationFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}
