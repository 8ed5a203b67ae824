// Waiting in tests: for a condition, never for a time. A deadline bounds only how long a failing
// test waits — a passing one returns as soon as its condition holds — so deadlines are generous:
// every test must pass on a machine twice as slow, and loaded, as the one it was written on.
// Work whose length grows with the machine's speed (a catch-up over thousands of blocks) is
// waited for by its progress: the deadline restarts whenever the work advances, so a slow machine
// gets the time it needs, a stalled one fails with a clear message, and a total bound keeps even
// slow progress from hanging the run.

/** How long a condition may stay unmet before the wait fails, unless a test says otherwise. */
export const CONDITION_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 100;

export interface WaitOptions {
  /** What is awaited, for the failure message ("invoice … to be paid"). */
  what: string;
  /** How long the condition may stay unmet; with `progress`, since the work last advanced. */
  timeoutMs?: number;
  /** A number that grows while the awaited work advances (blocks scanned, rows written). */
  progress?: () => number | Promise<number>;
  /** With `progress`: the bound on the whole wait, however steadily the work advances. */
  totalTimeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than undefined or false, and returns that value.
 * A check that throws counts as unmet (the node or server may still be starting); its last error
 * is in the failure message.
 */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? CONDITION_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? POLL_INTERVAL_MS;
  if (options.progress !== undefined && options.totalTimeoutMs === undefined) {
    throw new Error(`waitFor(${options.what}): a wait on progress needs totalTimeoutMs, so it cannot hang`);
  }
  const startedMs = Date.now();
  const totalDeadlineMs = options.totalTimeoutMs === undefined ? Infinity : startedMs + options.totalTimeoutMs;
  let deadlineMs = startedMs + timeoutMs;
  let lastProgress = options.progress === undefined ? undefined : await options.progress();
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    const nowMs = Date.now();
    if (options.progress !== undefined) {
      const progress = await options.progress();
      if (lastProgress === undefined || progress > lastProgress) {
        lastProgress = progress;
        deadlineMs = nowMs + timeoutMs;
      }
    }
    if (nowMs > deadlineMs || nowMs > totalDeadlineMs) {
      const why = nowMs > totalDeadlineMs
        ? `after ${nowMs - startedMs} ms in all (progress ${lastProgress})`
        : options.progress === undefined ? `after ${timeoutMs} ms` : `with no progress for ${timeoutMs} ms (stuck at ${lastProgress})`;
      throw new Error(`timed out waiting for ${options.what} ${why}${lastError === undefined ? '' : `; last error: ${String(lastError)}`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
