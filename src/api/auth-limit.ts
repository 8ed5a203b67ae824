// Limits on failed authentication: a token bucket per client address and per key id. Each
// refused credential takes a token; an empty bucket answers 429 with Retry-After before the
// credentials are even looked at, so guessing secrets or hammering the key table costs the
// guesser time. Memory is bounded: a bucket that has refilled is forgotten, and past
// `trackedMax` buckets the least recently failed one is dropped.

import { isIPv4, isIPv6 } from 'node:net';
import type { Clock } from '../common.ts';

export interface FailureLimitOptions {
  /** Failures allowed at once from a full bucket. */
  burst: number;
  /** Tokens added back per minute. */
  perMinute: number;
  /** Buckets kept at most. */
  trackedMax: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export class FailureLimiter {
  // A Map keeps insertion order: re-inserting on every failure makes the first entry the least recently failed.
  private readonly buckets = new Map<string, Bucket>();
  private readonly msPerToken: number;

  constructor(private readonly options: FailureLimitOptions, private readonly clock: Clock) {
    this.msPerToken = 60_000 / options.perMinute;
  }

  /** Milliseconds until `key` may fail again; 0 when it may now. */
  waitMs(key: string): number {
    const tokens = this.tokens(key);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) * this.msPerToken);
  }

  /** Records a failure of `key`. */
  fail(key: string): void {
    const tokens = Math.max(0, this.tokens(key) - 1);
    this.buckets.delete(key);
    this.buckets.set(key, { tokens, atMs: this.clock.nowMs() });
    if (this.buckets.size > this.options.trackedMax) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
  }

  get size(): number {
    return this.buckets.size;
  }

  private tokens(key: string): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return this.options.burst;
    const elapsedMs = Math.max(0, this.clock.nowMs() - bucket.atMs);
    const tokens = Math.min(this.options.burst, bucket.tokens + elapsedMs / this.msPerToken);
    if (tokens >= this.options.burst) this.buckets.delete(key); // full again: nothing left to remember
    return tokens;
  }
}

/** The bucket name of a client address: IPv4 as is (also when IPv4-mapped), IPv6 by its /64,
 * since one IPv6 client usually holds a whole /64. */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null && isIPv4(mapped[1] as string)) return mapped[1] as string;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail] = ip.split('%')[0]?.split('::') ?? [];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}
