// The invoice state machine as a pure function of the invoice and the payments routed to it.
//   pending → confirming → paid        (received ≥ amount; then confirmed ≥ amount)
//   pending → expired                  (expiry passed with less than the amount received)
//   pending → canceled                 (by the merchant, before any payment)
// A payment whose block leaves the chain lowers the totals, and the state goes back with them.
// Flags: underpaid (0 < received < amount), overpaid (received > amount), paid_late (coins came
// after expiry or cancellation: they went to suspense, not to the invoice).

export type InvoiceStatus = 'pending' | 'confirming' | 'paid' | 'expired' | 'canceled';

export interface InvoiceTotals {
  /** Detected payments routed to the invoice (block canonical), confirmed or not. */
  received: bigint;
  confirmed: bigint;
}

export interface InvoiceState {
  status: InvoiceStatus;
  underpaid: boolean;
  overpaid: boolean;
}

export function nextState(
  current: InvoiceStatus,
  amount: bigint,
  totals: InvoiceTotals,
  expired: boolean,
): InvoiceState {
  const flags = { underpaid: totals.received > 0n && totals.received < amount, overpaid: totals.received > amount };
  if (current === 'canceled') return { status: 'canceled', ...flags };
  if (totals.confirmed >= amount) return { status: 'paid', ...flags };
  if (totals.received >= amount) return { status: 'confirming', ...flags };
  // Less than the amount is in: the invoice waits for more until it expires.
  if (current === 'expired' || expired) return { status: 'expired', ...flags };
  return { status: 'pending', ...flags };
}

export function canCancel(status: InvoiceStatus, received: bigint): boolean {
  return status === 'pending' && received === 0n;
}
