// Exact conversion between decimal strings (what people and the API speak) and bigint base units
// (what everything inside Settle holds). No float ever touches an amount: text is split at the
// decimal point and the digits are read as integers.

import { SettleError } from './errors.ts';

/** numeric(78,0) holds at most 78 digits; every amount, in any unit, must fit. */
export const AMOUNT_DIGITS_MAX = 78;
export const AMOUNT_MAX = 10n ** BigInt(AMOUNT_DIGITS_MAX) - 1n;
/** No asset has more decimals than Ethereum's 18; 36 leaves room and keeps mistakes visible. */
export const DECIMALS_MAX = 36;

export type AmountErrorCode =
  | 'amount_not_a_string'
  | 'amount_empty'
  | 'amount_malformed'
  | 'amount_negative'
  | 'amount_zero'
  | 'amount_too_many_decimals'
  | 'amount_too_large';

export class AmountError extends SettleError {
  declare readonly code: AmountErrorCode;
  constructor(code: AmountErrorCode, message: string, input: unknown) {
    super(code, message, { input });
  }
}

export interface ParseAmountOptions {
  /** Reject zero (the default is to reject it: a payment or a transfer of nothing is a mistake). */
  allowZero?: boolean;
}

const PLAIN_DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string like "12.5" into base units for an asset with `decimals` decimals.
 * Accepts only plain digits with at most one decimal point: no sign, no exponent, no spaces,
 * no thousands separators, no leading or trailing dot.
 */
export function parseAmount(input: unknown, decimals: number, options: ParseAmountOptions = {}): bigint {
  assertDecimals(decimals);
  if (typeof input !== 'string') {
    throw new AmountError('amount_not_a_string', 'amount must be a decimal string, e.g. "12.50"', input);
  }
  if (input.length === 0) throw new AmountError('amount_empty', 'amount must not be empty', input);
  if (input.startsWith('-')) throw new AmountError('amount_negative', 'amount must not be negative', input);
  const match = PLAIN_DECIMAL.exec(input);
  if (match === null) {
    throw new AmountError(
      'amount_malformed',
      'amount must be digits with an optional decimal point (no sign, exponent, spaces or separators)',
      input,
    );
  }
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) {
    throw new AmountError(
      'amount_too_many_decimals',
      `amount has ${fraction.length} decimal places; this asset has ${decimals}`,
      input,
    );
  }
  const digits = (whole + fraction.padEnd(decimals, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > AMOUNT_DIGITS_MAX) {
    throw new AmountError('amount_too_large', `amount exceeds ${AMOUNT_DIGITS_MAX} digits in base units`, input);
  }
  const value = BigInt(digits);
  if (value === 0n && options.allowZero !== true) {
    throw new AmountError('amount_zero', 'amount must be greater than zero', input);
  }
  return value;
}

/**
 * Formats base units as a decimal string with exactly `decimals` fractional digits trimmed of
 * trailing zeros ("1.5", "0.000001", "42"). Negative values keep their sign (balances can be
 * reported as deltas).
 */
export function formatAmount(value: bigint, decimals: number): string {
  assertDecimals(decimals);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString();
  if (decimals === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(decimals + 1, '0');
  const whole = padded.slice(0, padded.length - decimals);
  const fraction = padded.slice(padded.length - decimals).replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction.length > 0 ? `.${fraction}` : '');
}

/** Formats with every fractional digit kept ("1.500000"): for fixed-width reports. */
export function formatAmountFixed(value: bigint, decimals: number): string {
  assertDecimals(decimals);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString();
  if (decimals === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(decimals + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`;
}

function assertDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > DECIMALS_MAX) {
    throw new RangeError(`decimals must be an integer 0..${DECIMALS_MAX}, got ${decimals}`);
  }
}
