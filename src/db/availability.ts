// Whether Postgres can be reached: the one classification of "the database is away" errors
// (refused, reset, timed out, shutting down) that the API turns into 503 + Retry-After, the
// scanners wait out and the webhook worker retries — and a deadline for waits on the database,
// so no caller waits on an unreachable server for longer than it chose.
// This file never decides what to do about an outage; its callers do.

import { RetryableError } from '../errors.ts';

/** Codes postgres.js and node give a connection that failed or was lost. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'EHOSTDOWN', 'ENETDOWN', 'EAI_AGAIN',
]);

/** SQLSTATEs of a server that is going away or not ready yet (classes 08 and 57P). */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or recovering
  '53300', // too_many_connections
]);

/** The database did not answer in time or could not be reached: retry later. */
export class DatabaseUnavailableError extends RetryableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('database_unavailable', message, {}, options);
  }
}

/** True when `error` says Postgres cannot be reached right now (as opposed to a bad query). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return CONNECTION_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08');
}

/**
 * Resolves or rejects as `work` does, unless `timeoutMs` passes first: then it rejects with a
 * DatabaseUnavailableError naming `what`. `work` goes on in the background (postgres.js has no
 * way to withdraw a query waiting for a connection); its late outcome is dropped.
 */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`${what}: no answer from the database within ${timeoutMs} ms`)), timeoutMs);
  });
  // The loser of the race must not surface as an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
