// The scanner lock: one process scans a chain at a time, by holding a Postgres session-level
// advisory lock on a connection of its own (not one borrowed from the shared pool: a borrowed
// connection that drops cannot be used or returned safely, and the pool recycles connections).
// When that session ends — the database restarted or the network dropped — the lock is gone with
// it; `held()` turns false at once and the scanner stops applying until it takes the lock again.
// Waiting for the lock survives database outages: it retries until shutdown.

import { createSql, type Sql } from '../db/client.ts';
import { isDatabaseUnavailable, withDeadline } from '../db/availability.ts';
import type { Clock } from '../common.ts';
import type { Logger } from 'pino';

const LOCK_NAMESPACE = 0x5e77_5ca9;
/** Between attempts while another process holds the lock. */
const STANDBY_POLL_MS = 5_000;
/** Between attempts while the database cannot be reached. */
const UNAVAILABLE_RETRY_MS = 1_000;
/** The longest the unlock at release may wait on the database. */
const RELEASE_TIMEOUT_MS = 3_000;

export interface ScannerLock {
  /** True while the session that took the lock is alive. */
  held(): boolean;
  release(): Promise<void>;
}

export interface AcquireScannerLockOptions {
  url: string;
  chain: string;
  clock: Clock;
  signal: AbortSignal;
  logger: Logger;
  /** Called each time another process is found holding the lock. */
  onStandby(): void;
}

/** Waits for the chain's lock; undefined when shutdown began first. */
export async function acquireScannerLock(options: AcquireScannerLockOptions): Promise<ScannerLock | undefined> {
  const { chain, clock, signal, logger } = options;
  let held = false;
  // One connection, kept open for good: the lock lives exactly as long as this session.
  const session: Sql = createSql(options.url, {
    max: 1, idleTimeoutS: 0, lifetimeS: 0, applicationName: `settle-scanner-lock:${chain}`,
    onclose: () => {
      if (held) logger.warn({ chain }, 'the scanner lock session ended (database connection lost); scanning pauses until the lock is taken again');
      held = false;
    },
  });
  const close = () => session.end({ timeout: 1 }).catch((error: unknown) => logger.debug({ err: error }, 'closing the scanner lock session'));
  while (!signal.aborted) {
    try {
      const [row] = await session<{ ok: boolean }[]>`select pg_try_advisory_lock(${LOCK_NAMESPACE}, hashtext(${chain})) as ok`;
      if (row?.ok === true) {
        held = true;
        return {
          held: () => held,
          async release() {
            if (held) {
              await withDeadline(session`select pg_advisory_unlock(${LOCK_NAMESPACE}, hashtext(${chain}))`, RELEASE_TIMEOUT_MS, 'scanner unlock')
                .catch((error: unknown) => logger.warn({ err: error, chain }, 'could not unlock the scanner lock; it ends with its session'));
            }
            held = false;
            await close();
          },
        };
      }
      options.onStandby();
      await clock.sleep(STANDBY_POLL_MS, signal);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) {
        await close();
        throw error;
      }
      logger.debug({ err: error, chain }, 'database unavailable while taking the scanner lock; retrying');
      await clock.sleep(UNAVAILABLE_RETRY_MS, signal);
    }
  }
  await close();
  return undefined;
}
