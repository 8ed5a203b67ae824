// The chart of accounts (DESIGN.md §2), per ledger. Codes are stored on accounts; owners are
// merchant ids for merchant accounts and '' for the ledger's own.

import type { AccountFlag } from './types.ts';
import { ensureAccounts } from './accounts.ts';
import type { Sql } from '../db/client.ts';

export const ACCOUNT_CODES = {
  /** The chain itself: debited when coins arrive, credited when they leave. */
  world: 'world',
  /** What Settle owes a merchant. */
  merchant: 'merchant',
  payoutsInFlight: 'payouts_in_flight',
  networkFees: 'network_fees',
  platformFees: 'platform_fees',
  /** Coins that reached an address of a canceled/expired invoice or no invoice: never lost, waiting for a decision. */
  suspense: 'suspense',
  /** A reversed (reorged-out) payment the merchant had already spent: the platform carries it until settled. */
  reorgShortfall: 'reorg_shortfall',
} as const;

export type AccountCode = (typeof ACCOUNT_CODES)[keyof typeof ACCOUNT_CODES];

const FLAGS: Record<AccountCode, AccountFlag[]> = {
  world: [],
  merchant: ['debits_must_not_exceed_credits'],
  payouts_in_flight: [],
  network_fees: [],
  platform_fees: [],
  suspense: ['debits_must_not_exceed_credits'],
  reorg_shortfall: [],
};

/** Account ids by (ledger, code, owner), created on first use and cached for the process.
 * Accounts are created on the pool, outside any caller's transaction: a rolled-back transaction
 * must not leave the cache holding the id of an account that no longer exists. */
export interface AccountCache {
  get(ledger: number, code: AccountCode, owner?: string): Promise<bigint>;
  getMany(keys: Array<{ ledger: number; code: AccountCode; owner?: string }>): Promise<bigint[]>;
}

const CACHE_ENTRIES_MAX = 1_000_000;

export function createAccountCache(db: Sql): AccountCache {
  const ids = new Map<string, bigint>();
  const keyOf = (ledger: number, code: string, owner: string) => `${ledger}\u0000${code}\u0000${owner}`;
  async function getMany(keys: Array<{ ledger: number; code: AccountCode; owner?: string }>): Promise<bigint[]> {
    const missing = keys.filter((k) => !ids.has(keyOf(k.ledger, k.code, k.owner ?? '')));
    if (missing.length > 0) {
      if (ids.size + missing.length > CACHE_ENTRIES_MAX) ids.clear();
      const created = await ensureAccounts(db, missing.map((k) => ({ ledger: k.ledger, code: k.code, owner: k.owner ?? '', flags: FLAGS[k.code] })));
      missing.forEach((k, i) => ids.set(keyOf(k.ledger, k.code, k.owner ?? ''), created[i] as bigint));
    }
    return keys.map((k) => ids.get(keyOf(k.ledger, k.code, k.owner ?? '')) as bigint);
  }
  return {
    getMany,
    async get(ledger, code, owner = '') {
      const [id] = await getMany([{ ledger, code, owner }]);
      return id as bigint;
    },
  };
}
