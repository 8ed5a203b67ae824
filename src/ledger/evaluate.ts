// The decision for each transfer of a batch, as a pure function over a snapshot of the accounts
// and transfers it touches. Transfers are decided in order and each one's effect is applied to the
// snapshot before the next is decided, so a batch may create a pending transfer and post it, or
// carry a duplicate id (the second is `exists`). The caller (transfers.ts) loads the snapshot under
// row locks and writes the outcome back.
//
// The order of checks follows TigerBeetle's create_transfer: shape, accounts, ledger, then the
// id (`exists…`), then overflows, then limits. A transfer whose result is not `created` changes
// nothing.

import { AMOUNT_MAX } from '../amount.ts';
import { assert } from '../errors.ts';
import type { CreateTransferResult, Transfer, TransferInput } from './types.ts';

export interface AccountState {
  id: bigint;
  ledger: number;
  flagBits: number;
  /** False when the writer did not read this account's totals because no decision of the batch
   * depends on them. The writer reads both accounts of a single or pending transfer or neither;
   * with neither, an overflow is caught by the database (transfers.ts, balanceReads()). */
  balancesKnown: boolean;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface Snapshot {
  accounts: Map<bigint, AccountState>;
  /** Every stored transfer whose id is in the batch or is a pending id the batch refers to. */
  transfers: Map<string, Transfer>;
  /** pending id → how it was resolved. */
  resolutions: Map<string, 'posted' | 'voided'>;
}

export interface AccountDelta {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface Evaluation {
  results: CreateTransferResult[];
  created: Transfer[];
  deltas: Map<bigint, AccountDelta>;
}

export function evaluateBatch(inputs: readonly TransferInput[], snapshot: Snapshot): Evaluation {
  const results: CreateTransferResult[] = [];
  const created: Transfer[] = [];
  const deltas = new Map<bigint, AccountDelta>();
  for (const input of inputs) {
    const decision = input.flags === 'post_pending' || input.flags === 'void_pending'
      ? decidePostOrVoid(input, snapshot)
      : decideSingleOrPending(input, snapshot);
    if (typeof decision === 'string') {
      results.push(decision);
      continue;
    }
    apply(decision, snapshot, deltas);
    created.push(decision.transfer);
    results.push('created');
  }
  return { results, created, deltas };
}

interface Effect {
  transfer: Transfer;
  /** The amount of the pending transfer being posted or voided (released from *_pending). */
  releasedPending: bigint;
}

function decideSingleOrPending(input: TransferInput, snapshot: Snapshot): CreateTransferResult | Effect {
  if (input.pendingId !== undefined) return input.pendingId === input.id ? 'id_must_not_be_pending_id' : 'pending_id_must_be_empty';
  if (input.code === '') return 'code_required';
  if (input.debitAccountId === input.creditAccountId) return 'accounts_must_be_different';
  const amount = input.amount;
  if (amount === undefined || amount <= 0n) return 'amount_must_be_positive';
  const debit = snapshot.accounts.get(input.debitAccountId);
  if (debit === undefined) return 'debit_account_not_found';
  const credit = snapshot.accounts.get(input.creditAccountId);
  if (credit === undefined) return 'credit_account_not_found';
  if (debit.ledger !== credit.ledger || input.ledger !== debit.ledger) return 'ledger_mismatch';

  const transfer: Transfer = {
    id: input.id,
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    amount,
    ledger: input.ledger,
    code: input.code,
    flags: input.flags,
    pendingId: undefined,
    reference: input.reference,
  };
  const existing = snapshot.transfers.get(input.id);
  if (existing !== undefined) return compareExisting(transfer, existing);

  const overflow = overflowOf(transfer, debit, credit);
  if (overflow !== undefined) return overflow;
  if ((debit.flagBits & 1) !== 0) {
    assert(debit.balancesKnown, 'balances of a debit account with debits_must_not_exceed_credits are read');
    if (debit.debitsPending + debit.debitsPosted + amount > debit.creditsPosted) return 'exceeds_credits';
  }
  if ((credit.flagBits & 2) !== 0) {
    assert(credit.balancesKnown, 'balances of a credit account with credits_must_not_exceed_debits are read');
    if (credit.creditsPending + credit.creditsPosted + amount > credit.debitsPosted) return 'exceeds_debits';
  }
  return { transfer, releasedPending: 0n };
}

/**
 * TigerBeetle's overflow checks in its order of precedence: the pending fields (for a pending
 * transfer), then the posted fields, then the sums, the debit account before the credit account
 * at each step. Settle keeps one result per side (TigerBeetle's `overflows_debits_pending`,
 * `_posted` and `overflows_debits` are all `overflows_debits`), so which side is named follows
 * that order: a pending transfer whose credit account's pending total overflows is
 * `overflows_credits` even when the debit account's sum overflows too.
 * Deciding needs both accounts' totals. When the writer read neither, nothing is decided here:
 * the database refuses a total past numeric(78,0) and the batch runs again with every balance read.
 */
function overflowOf(transfer: Transfer, debit: AccountState, credit: AccountState): 'overflows_debits' | 'overflows_credits' | undefined {
  assert(debit.balancesKnown === credit.balancesKnown, 'the writer reads both accounts of a transfer or neither');
  if (!debit.balancesKnown) return undefined;
  const overflows = (total: bigint) => total + transfer.amount > AMOUNT_MAX;
  if (transfer.flags === 'pending') {
    if (overflows(debit.debitsPending)) return 'overflows_debits';
    if (overflows(credit.creditsPending)) return 'overflows_credits';
  }
  if (overflows(debit.debitsPosted)) return 'overflows_debits';
  if (overflows(credit.creditsPosted)) return 'overflows_credits';
  if (overflows(debit.debitsPending + debit.debitsPosted)) return 'overflows_debits';
  if (overflows(credit.creditsPending + credit.creditsPosted)) return 'overflows_credits';
  return undefined;
}

function decidePostOrVoid(input: TransferInput, snapshot: Snapshot): CreateTransferResult | Effect {
  if (input.pendingId === undefined) return 'pending_id_required';
  if (input.pendingId === input.id) return 'id_must_not_be_pending_id';
  if (input.code === '') return 'code_required';
  if (input.debitAccountId !== 0n && input.debitAccountId === input.creditAccountId) return 'accounts_must_be_different';
  if (input.amount !== undefined && input.amount <= 0n) return 'amount_must_be_positive';

  const pending = snapshot.transfers.get(input.pendingId);
  if (pending === undefined) return 'pending_not_found';
  if (pending.flags !== 'pending') return 'pending_transfer_not_pending';
  if (input.debitAccountId !== 0n && input.debitAccountId !== pending.debitAccountId) {
    return 'pending_transfer_has_different_debit_account_id';
  }
  if (input.creditAccountId !== 0n && input.creditAccountId !== pending.creditAccountId) {
    return 'pending_transfer_has_different_credit_account_id';
  }
  if (input.ledger !== 0 && input.ledger !== pending.ledger) return 'pending_transfer_has_different_ledger';

  const amount = input.amount ?? pending.amount;
  const transfer: Transfer = {
    id: input.id,
    debitAccountId: pending.debitAccountId,
    creditAccountId: pending.creditAccountId,
    amount,
    ledger: pending.ledger,
    code: input.code,
    flags: input.flags,
    pendingId: pending.id,
    reference: input.reference,
  };
  const existing = snapshot.transfers.get(input.id);
  if (existing !== undefined) return compareExisting(transfer, existing);

  if (input.flags === 'post_pending' && amount > pending.amount) return 'exceeds_pending_transfer_amount';
  if (input.flags === 'void_pending' && amount !== pending.amount) return 'pending_transfer_has_different_amount';
  const resolution = snapshot.resolutions.get(pending.id);
  if (resolution === 'posted') return 'pending_already_posted';
  if (resolution === 'voided') return 'pending_already_voided';

  if (input.flags === 'post_pending') {
    const debit = snapshot.accounts.get(pending.debitAccountId);
    const credit = snapshot.accounts.get(pending.creditAccountId);
    assert(debit !== undefined && credit !== undefined, 'a pending transfer\'s accounts are in the snapshot');
    if (debit.balancesKnown && debit.debitsPosted + amount > AMOUNT_MAX) return 'overflows_debits';
    if (credit.balancesKnown && credit.creditsPosted + amount > AMOUNT_MAX) return 'overflows_credits';
  }
  return { transfer, releasedPending: pending.amount };
}

/** `exists` when every field matches what is stored, else the first field that differs. */
function compareExisting(transfer: Transfer, existing: Transfer): CreateTransferResult {
  if (transfer.flags !== existing.flags) return 'exists_with_different_flags';
  if (transfer.pendingId !== existing.pendingId) return 'exists_with_different_pending_id';
  if (transfer.debitAccountId !== existing.debitAccountId) return 'exists_with_different_debit_account_id';
  if (transfer.creditAccountId !== existing.creditAccountId) return 'exists_with_different_credit_account_id';
  if (transfer.amount !== existing.amount) return 'exists_with_different_amount';
  if (transfer.ledger !== existing.ledger) return 'exists_with_different_ledger';
  if (transfer.code !== existing.code) return 'exists_with_different_code';
  if (transfer.reference !== existing.reference) return 'exists_with_different_reference';
  return 'exists';
}

function apply(effect: Effect, snapshot: Snapshot, deltas: Map<bigint, AccountDelta>): void {
  const { transfer, releasedPending } = effect;
  const debit = snapshot.accounts.get(transfer.debitAccountId);
  const credit = snapshot.accounts.get(transfer.creditAccountId);
  assert(debit !== undefined && credit !== undefined, 'accounts of a created transfer are in the snapshot');
  const debitDelta = deltaFor(deltas, debit.id);
  const creditDelta = deltaFor(deltas, credit.id);
  const amount = transfer.amount;
  switch (transfer.flags) {
    case undefined:
      debit.debitsPosted += amount; debitDelta.debitsPosted += amount;
      credit.creditsPosted += amount; creditDelta.creditsPosted += amount;
      break;
    case 'pending':
      debit.debitsPending += amount; debitDelta.debitsPending += amount;
      credit.creditsPending += amount; creditDelta.creditsPending += amount;
      break;
    case 'post_pending':
      debit.debitsPending -= releasedPending; debitDelta.debitsPending -= releasedPending;
      credit.creditsPending -= releasedPending; creditDelta.creditsPending -= releasedPending;
      debit.debitsPosted += amount; debitDelta.debitsPosted += amount;
      credit.creditsPosted += amount; creditDelta.creditsPosted += amount;
      snapshot.resolutions.set(transfer.pendingId as string, 'posted');
      break;
    case 'void_pending':
      debit.debitsPending -= releasedPending; debitDelta.debitsPending -= releasedPending;
      credit.creditsPending -= releasedPending; creditDelta.creditsPending -= releasedPending;
      snapshot.resolutions.set(transfer.pendingId as string, 'voided');
      break;
  }
  assert(
    (!debit.balancesKnown || debit.debitsPending >= 0n) && (!credit.balancesKnown || credit.creditsPending >= 0n),
    'pending totals never go below zero',
  );
  snapshot.transfers.set(transfer.id, transfer);
}

function deltaFor(deltas: Map<bigint, AccountDelta>, id: bigint): AccountDelta {
  let delta = deltas.get(id);
  if (delta === undefined) {
    delta = { debitsPending: 0n, debitsPosted: 0n, creditsPending: 0n, creditsPosted: 0n };
    deltas.set(id, delta);
  }
  return delta;
}
