// The explicit context every factory receives: config, logger, metrics registry, clock, random
// and shutdown. No module reaches for a global singleton; tests and the simulator build their own
// `Common` with a fake clock or a seeded random source and replay a run exactly.

import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config.ts';
import { sleep } from './sleep.ts';

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  now(): Date;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface Random {
  bytes(length: number): Buffer;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
}

export type ShutdownHook = () => Promise<void> | void;

/** The longest one shutdown hook may take before it is abandoned (and logged) so the next runs:
 * a component stuck on an unreachable database or node must not keep the process alive. */
export const SHUTDOWN_HOOK_TIMEOUT_MS = 15_000;

export interface Shutdown {
  /** Aborts when shutdown begins; long loops watch it to stop between units of work. */
  readonly signal: AbortSignal;
  /** Hooks run in reverse order of registration (last started, first stopped); each is given at
   * most `timeoutMs` (default SHUTDOWN_HOOK_TIMEOUT_MS). */
  onShutdown(name: string, hook: ShutdownHook, timeoutMs?: number): void;
  /** Runs every hook once; later calls return the same promise. */
  run(reason: string): Promise<void>;
}

export interface Common {
  config: Config;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  random: Random;
  shutdown: Shutdown;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  now: () => new Date(),
  sleep,
};

export const systemRandom: Random = {
  bytes: (length) => randomBytes(length),
  int: (maxExclusive) => randomBytes(6).readUIntBE(0, 6) % maxExclusive,
};

/** A seeded generator of numbers in [0, 1) (mulberry32): replayable runs for tests, benchmarks and simulations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Random for `common` that replays the same bytes and integers for the same seed. */
export function createSeededRandom(seed: number): Random {
  const next = seededRandom(seed);
  return {
    bytes: (length) => Buffer.from(Array.from({ length }, () => Math.floor(next() * 256))),
    int: (maxExclusive) => Math.floor(next() * maxExclusive),
  };
}

export function createLogger(config: Config['log'], destination?: NodeJS.WritableStream): Logger {
  const pretty = config.pretty ?? (destination === undefined && process.stdout.isTTY === true);
  if (pretty) {
    return pino({
      level: config.level,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return destination === undefined
    ? pino({ level: config.level, base: { service: 'settle' } })
    : pino({ level: config.level, base: { service: 'settle' } }, destination as pino.DestinationStream);
}

export function createShutdown(logger: Logger): Shutdown {
  const controller = new AbortController();
  const hooks: Array<{ name: string; hook: ShutdownHook; timeoutMs: number }> = [];
  let running: Promise<void> | undefined;
  return {
    signal: controller.signal,
    onShutdown(name, hook, timeoutMs = SHUTDOWN_HOOK_TIMEOUT_MS) {
      hooks.push({ name, hook, timeoutMs });
    },
    run(reason) {
      running ??= (async () => {
        logger.info({ reason }, 'shutting down');
        controller.abort();
        for (const { name, hook, timeoutMs } of hooks.reverse()) {
          let timer: NodeJS.Timeout | undefined;
          try {
            const expired = new Promise<never>((_resolve, reject) => {
              timer = setTimeout(() => reject(new Error(`shutdown hook ${name} did not finish within ${timeoutMs} ms; abandoned`)), timeoutMs);
            });
            await Promise.race([Promise.resolve().then(hook), expired]);
            logger.debug({ hook: name }, 'stopped');
          } catch (error) {
            // Shutdown goes on: one stuck component must not keep the others (and Postgres) running.
            logger.error({ err: error, hook: name }, 'shutdown hook failed');
          } finally {
            clearTimeout(timer);
          }
        }
      })();
      return running;
    },
  };
}

export interface CreateCommonOptions {
  clock?: Clock;
  random?: Random;
  logger?: Logger;
  /** Adds prom-client's process and Node.js runtime metrics (the engine does; tests need not). */
  defaultMetrics?: boolean;
}

export function createCommon(config: Config, options: CreateCommonOptions = {}): Common {
  const logger = options.logger ?? createLogger(config.log);
  const metrics = new Registry();
  if (options.defaultMetrics === true) collectDefaultMetrics({ register: metrics });
  return {
    config,
    logger,
    metrics,
    clock: options.clock ?? systemClock,
    random: options.random ?? systemRandom,
    shutdown: createShutdown(logger),
  };
}
