// Error classes, split by what the caller should do about them: retry (the world may change,
// e.g. a node timed out) or not (retrying the same thing gives the same answer).
// Business outcomes (a transfer that exceeds credits, an invoice already paid) are not errors:
// they are returned as values by the ledger and the services.

export interface ErrorDetails {
  [key: string]: unknown;
}

export class SettleError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** The same request may succeed later: a timeout, a refused connection, a node that is syncing. */
export class RetryableError extends SettleError {}

/** The same request will fail again: malformed data, a wrong chain, a broken invariant. */
export class NonRetryableError extends SettleError {}

/** The configuration cannot be used; start-up stops with exit code 2. */
export class ConfigError extends NonRetryableError {
  readonly problems: string[];

  constructor(problems: string[]) {
    super('config_invalid', `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
    this.problems = problems;
  }
}

/** A programmer error: a state the code promised could not happen. Never caught on money paths. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Postgres error codes that mean "run the same transaction again". */
const RETRYABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '23505', // unique_violation: a concurrent writer inserted the same id first
]);

/** Thrown inside a transaction to roll it back and run it again from the start. */
export class TransactionRestart extends RetryableError {
  constructor(reason: string) {
    super('transaction_restart', reason);
  }
}

/** True for errors after which running the same database transaction again is correct. */
export function isRetryableTransactionError(error: unknown): boolean {
  if (error instanceof TransactionRestart) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}

/** A block's bytes are not a valid serialization of the chain's block: truncated, corrupted, or not
 * the block that was asked for. Retrying the same bytes gives the same answer; the source must
 * fetch the block again (or the node is broken). `offset` is the byte offset where reading failed. */
export class BlockDecodeError extends NonRetryableError {
  readonly offset: number;

  constructor(message: string, details: { offset: number } & ErrorDetails) {
    super('block_decode', `${message} (at byte offset ${details.offset})`, details);
    this.offset = details.offset;
  }
}
