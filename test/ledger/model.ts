// An in-memory reference ledger written straight from the specification (DESIGN.md §2, the
// result list of issue 2 and the order of precedence of TigerBeetle's create_transfers results),
// one transfer at a time, without batching, locks or SQL. The model
// test runs the same seeded workload through Postgres and through this, and they must agree on
// every result and every account total.

import type { CreateTransferResult, TransferInput } from '../../src/ledger/types.ts';

const MAX = 10n ** 78n - 1n;

export interface ModelAccount {
  ledger: number;
  limitDebits: boolean;
  limitCredits: boolean;
  dp: bigint;
  dpo: bigint;
  cp: bigint;
  cpo: bigint;
}

interface StoredTransfer {
  id: string;
  debit: bigint;
  credit: bigint;
  amount: bigint;
  ledger: number;
  code: string;
  flags: string;
  pendingId: string | undefined;
  reference: string | undefined;
}

export class LedgerModel {
  accounts = new Map<bigint, ModelAccount>();
  transfers = new Map<string, StoredTransfer>();
  resolution = new Map<string, 'posted' | 'voided'>();

  clone(): LedgerModel {
    const copy = new LedgerModel();
    for (const [id, a] of this.accounts) copy.accounts.set(id, { ...a });
    for (const [id, t] of this.transfers) copy.transfers.set(id, { ...t });
    for (const [id, r] of this.resolution) copy.resolution.set(id, r);
    return copy;
  }

  createBatch(inputs: readonly TransferInput[]): CreateTransferResult[] {
    return inputs.map((input) => this.create(input));
  }

  create(t: TransferInput): CreateTransferResult {
    const flags = t.flags ?? 'single';
    const resolving = flags === 'post_pending' || flags === 'void_pending';
    if (!resolving) {
      if (t.pendingId !== undefined) return t.pendingId === t.id ? 'id_must_not_be_pending_id' : 'pending_id_must_be_empty';
      if (t.code === '') return 'code_required';
      if (t.debitAccountId === t.creditAccountId) return 'accounts_must_be_different';
      if (t.amount === undefined || t.amount <= 0n) return 'amount_must_be_positive';
      const d = this.accounts.get(t.debitAccountId);
      if (!d) return 'debit_account_not_found';
      const c = this.accounts.get(t.creditAccountId);
      if (!c) return 'credit_account_not_found';
      if (d.ledger !== c.ledger || d.ledger !== t.ledger) return 'ledger_mismatch';
      const candidate: StoredTransfer = {
        id: t.id, debit: t.debitAccountId, credit: t.creditAccountId, amount: t.amount, ledger: t.ledger,
        code: t.code, flags, pendingId: undefined, reference: t.reference,
      };
      const old = this.transfers.get(t.id);
      if (old) return sameAs(candidate, old);
      // TigerBeetle's create_transfers precedence: overflows_debits_pending, overflows_credits_pending
      // (pending transfers only), overflows_debits_posted, overflows_credits_posted, overflows_debits,
      // overflows_credits; Settle names only the side, so each maps to overflows_debits/_credits.
      if (flags === 'pending' && d.dp + t.amount > MAX) return 'overflows_debits';
      if (flags === 'pending' && c.cp + t.amount > MAX) return 'overflows_credits';
      if (d.dpo + t.amount > MAX) return 'overflows_debits';
      if (c.cpo + t.amount > MAX) return 'overflows_credits';
      if (d.dp + d.dpo + t.amount > MAX) return 'overflows_debits';
      if (c.cp + c.cpo + t.amount > MAX) return 'overflows_credits';
      if (d.limitDebits && d.dp + d.dpo + t.amount > d.cpo) return 'exceeds_credits';
      if (c.limitCredits && c.cp + c.cpo + t.amount > c.dpo) return 'exceeds_debits';
      if (flags === 'pending') {
        d.dp += t.amount;
        c.cp += t.amount;
      } else {
        d.dpo += t.amount;
        c.cpo += t.amount;
      }
      this.transfers.set(t.id, candidate);
      return 'created';
    }

    if (t.pendingId === undefined) return 'pending_id_required';
    if (t.pendingId === t.id) return 'id_must_not_be_pending_id';
    if (t.code === '') return 'code_required';
    if (t.debitAccountId !== 0n && t.debitAccountId === t.creditAccountId) return 'accounts_must_be_different';
    if (t.amount !== undefined && t.amount <= 0n) return 'amount_must_be_positive';
    const p = this.transfers.get(t.pendingId);
    if (!p) return 'pending_not_found';
    if (p.flags !== 'pending') return 'pending_transfer_not_pending';
    if (t.debitAccountId !== 0n && t.debitAccountId !== p.debit) return 'pending_transfer_has_different_debit_account_id';
    if (t.creditAccountId !== 0n && t.creditAccountId !== p.credit) return 'pending_transfer_has_different_credit_account_id';
    if (t.ledger !== 0 && t.ledger !== p.ledger) return 'pending_transfer_has_different_ledger';
    const amount = t.amount ?? p.amount;
    const candidate: StoredTransfer = {
      id: t.id, debit: p.debit, credit: p.credit, amount, ledger: p.ledger, code: t.code, flags,
      pendingId: p.id, reference: t.reference,
    };
    const old = this.transfers.get(t.id);
    if (old) return sameAs(candidate, old);
    if (flags === 'post_pending' && amount > p.amount) return 'exceeds_pending_transfer_amount';
    if (flags === 'void_pending' && amount !== p.amount) return 'pending_transfer_has_different_amount';
    const done = this.resolution.get(p.id);
    if (done === 'posted') return 'pending_already_posted';
    if (done === 'voided') return 'pending_already_voided';
    const d = this.accounts.get(p.debit)!;
    const c = this.accounts.get(p.credit)!;
    if (flags === 'post_pending') {
      if (d.dpo + amount > MAX) return 'overflows_debits';
      if (c.cpo + amount > MAX) return 'overflows_credits';
      d.dpo += amount;
      c.cpo += amount;
    }
    d.dp -= p.amount;
    c.cp -= p.amount;
    this.resolution.set(p.id, flags === 'post_pending' ? 'posted' : 'voided');
    this.transfers.set(t.id, candidate);
    return 'created';
  }
}

function sameAs(n: StoredTransfer, o: StoredTransfer): CreateTransferResult {
  if (n.flags !== o.flags) return 'exists_with_different_flags';
  if (n.pendingId !== o.pendingId) return 'exists_with_different_pending_id';
  if (n.debit !== o.debit) return 'exists_with_different_debit_account_id';
  if (n.credit !== o.credit) return 'exists_with_different_credit_account_id';
  if (n.amount !== o.amount) return 'exists_with_different_amount';
  if (n.ledger !== o.ledger) return 'exists_with_different_ledger';
  if (n.code !== o.code) return 'exists_with_different_code';
  if (n.reference !== o.reference) return 'exists_with_different_reference';
  return 'exists';
}
