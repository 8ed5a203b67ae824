// Bounded retries with exponential backoff: the one place retry delays come from.
// The caller says which errors are worth another attempt; everything else is thrown at once.
// Without a `random` source the delays are deterministic (no hidden dice), so a test or the
// simulator replays the same schedule; production callers may pass one for jitter.

import { assert } from './errors.ts';
import { sleep } from './sleep.ts';

export interface RetryOptions {
  /** Attempts in total, the first included (1 = no retry). */
  attemptsMax: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** True when another attempt may succeed (e.g. `error instanceof RetryableError`). */
  isRetryable: (error: unknown) => boolean;
  /** Stops waiting and gives up with the last error when it aborts. */
  signal?: AbortSignal | undefined;
  /** Waits `ms`, resolving early when `signal` aborts; defaults to setTimeout. */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** [0, 1); when given, each delay is drawn from [delay / 2, delay] so clients spread out. */
  random?: (() => number) | undefined;
  /** Called before each wait, for logs and metrics. */
  onRetry?: ((error: unknown, attempt: number, delayMs: number) => void) | undefined;
}

/** Runs `fn` until it succeeds, fails with a non-retryable error, or `attemptsMax` attempts failed. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  assert(Number.isInteger(options.attemptsMax) && options.attemptsMax >= 1, 'attemptsMax is an integer >= 1');
  assert(options.baseDelayMs >= 0 && options.maxDelayMs >= options.baseDelayMs, '0 <= baseDelayMs <= maxDelayMs');
  const wait = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      const last = attempt >= options.attemptsMax || options.signal?.aborted === true;
      if (last || !options.isRetryable(error)) throw error;
      const delayMs = backoffDelayMs(attempt, options);
      options.onRetry?.(error, attempt, delayMs);
      await wait(delayMs, options.signal);
      if (options.signal?.aborted === true) throw error;
    }
  }
}

/** Delay after the `attempt`-th failure: base × 2^(attempt−1), capped at maxDelayMs. */
export function backoffDelayMs(attempt: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const exponential = options.baseDelayMs * 2 ** Math.min(attempt - 1, 30);
  const capped = Math.min(options.maxDelayMs, exponential);
  if (options.random === undefined) return capped;
  return Math.round(capped / 2 + (capped / 2) * options.random());
}
