// Ledger vocabulary shared by the Postgres ledger, the batch applier and their callers.

export type TransferFlag = 'pending' | 'post_pending' | 'void_pending';

/** Stored as smallint; the values match sql/0001_ledger.sql. */
export const TRANSFER_FLAG_BITS = { single: 0, pending: 1, post_pending: 2, void_pending: 4 } as const;

export type AccountFlag = 'debits_must_not_exceed_credits' | 'credits_must_not_exceed_debits';

export const ACCOUNT_FLAG_BITS = { debits_must_not_exceed_credits: 1, credits_must_not_exceed_debits: 2 } as const;

export interface TransferInput {
  /** A uuid; deterministic where the transfer must be idempotent (see transferId()). */
  id: string;
  /** For post/void: 0n means "the pending transfer's account". */
  debitAccountId: bigint;
  creditAccountId: bigint;
  /** Base units. For post_pending: undefined posts the full pending amount; for void_pending:
   * undefined (or the pending amount) releases it all. */
  amount?: bigint | undefined;
  /** For post/void: 0 means "the pending transfer's ledger". */
  ledger: number;
  code: string;
  flags?: TransferFlag | undefined;
  pendingId?: string | undefined;
  reference?: string | undefined;
}

/** A transfer as stored. */
export interface Transfer {
  id: string;
  debitAccountId: bigint;
  creditAccountId: bigint;
  amount: bigint;
  ledger: number;
  code: string;
  flags: TransferFlag | undefined;
  pendingId: string | undefined;
  reference: string | undefined;
}

export type CreateTransferResult =
  | 'created'
  | 'exists'
  | 'exists_with_different_flags'
  | 'exists_with_different_pending_id'
  | 'exists_with_different_debit_account_id'
  | 'exists_with_different_credit_account_id'
  | 'exists_with_different_amount'
  | 'exists_with_different_ledger'
  | 'exists_with_different_code'
  | 'exists_with_different_reference'
  | 'id_must_not_be_pending_id'
  | 'pending_id_must_be_empty'
  | 'pending_id_required'
  | 'accounts_must_be_different'
  | 'amount_must_be_positive'
  | 'code_required'
  | 'debit_account_not_found'
  | 'credit_account_not_found'
  | 'ledger_mismatch'
  | 'exceeds_credits'
  | 'exceeds_debits'
  | 'overflows_debits'
  | 'overflows_credits'
  | 'pending_not_found'
  | 'pending_transfer_not_pending'
  | 'pending_transfer_has_different_debit_account_id'
  | 'pending_transfer_has_different_credit_account_id'
  | 'pending_transfer_has_different_ledger'
  | 'pending_transfer_has_different_amount'
  | 'exceeds_pending_transfer_amount'
  | 'pending_already_posted'
  | 'pending_already_voided';

export interface Account {
  id: bigint;
  ledger: number;
  code: string;
  owner: string;
  flags: AccountFlag[];
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export function flagsToBits(flags: TransferFlag | undefined): number {
  return flags === undefined ? 0 : TRANSFER_FLAG_BITS[flags];
}

export function bitsToFlags(bits: number): TransferFlag | undefined {
  switch (bits) {
    case 0: return undefined;
    case 1: return 'pending';
    case 2: return 'post_pending';
    case 4: return 'void_pending';
    default: throw new RangeError(`unknown transfer flags ${bits}`);
  }
}

export function accountFlagsToBits(flags: readonly AccountFlag[]): number {
  return flags.reduce((bits, flag) => bits | ACCOUNT_FLAG_BITS[flag], 0);
}

export function bitsToAccountFlags(bits: number): AccountFlag[] {
  const flags: AccountFlag[] = [];
  if ((bits & 1) !== 0) flags.push('debits_must_not_exceed_credits');
  if ((bits & 2) !== 0) flags.push('credits_must_not_exceed_debits');
  return flags;
}
