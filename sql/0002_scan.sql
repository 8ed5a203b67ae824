-- The scan pipeline's state: the blocks the scanner has applied (the unfinalized window and every
-- block holding a payment), the derived addresses it watches, and the payments it has seen.
-- Orphaned blocks and payments are flagged, never deleted; the ledger keeps their history.

create table chain_blocks (
  -- A block that leaves the chain and later returns (a flip-flop reorg) is applied again as a new
  -- row: payments and transfers of each application are distinct, so the first stays voided.
  id bigint generated always as identity primary key,
  chain text not null,
  height bigint not null check (height >= 0),
  hash text not null,
  parent_hash text not null,
  timestamp_s bigint not null,
  tx_count int not null,
  applied_at timestamptz not null default now(),
  -- Set when the block left the canonical chain.
  orphaned_at timestamptz
);
-- At most one canonical block per height, and a canonical block once.
create unique index chain_blocks_canonical_key on chain_blocks (chain, height) where orphaned_at is null;
create unique index chain_blocks_canonical_hash_key on chain_blocks (chain, hash) where orphaned_at is null;

-- Derivation keys: one extended public key with its script type and network. Chains that share a
-- key (ETH, BSC and Polygon with one xpub) share its derivation indexes: an index handed out on
-- one chain is used on all, so one address never serves two invoices by accident.
create table address_keys (
  id text primary key,
  family text not null check (family in ('utxo', 'evm', 'tron')),
  description text not null,
  -- Derived and stored so far: indexes 0 .. derived_count - 1.
  derived_count int not null default 0 check (derived_count >= 0),
  created_at timestamptz not null default now()
);

create table addresses (
  id bigint generated always as identity primary key,
  key_id text not null references address_keys (id),
  derivation_index int not null check (derivation_index >= 0),
  address text not null,
  -- The bytes the AddressIndex matches (script key or 20-byte account).
  index_key bytea not null,
  -- Handed out: to whom (a merchant id) and for what (e.g. 'invoice:<id>'). Never reused.
  assigned_at timestamptz,
  assigned_chain text,
  owner text,
  reference text,
  created_at timestamptz not null default now(),
  unique (key_id, derivation_index),
  unique (key_id, index_key)
);
create index addresses_free_idx on addresses (key_id, derivation_index) where assigned_at is null;

-- One row per appearance of a credit on chain: the same transaction mined again in another block
-- (after a reorg) is a new row, with its own pending transfer; the old row is orphaned.
create table payments (
  id uuid primary key,
  chain text not null,
  txid text not null,
  -- utxo: output index; evm/tron token: log index; evm/tron native: -1.
  position int not null,
  block_id bigint not null references chain_blocks (id),
  block_hash text not null,
  height bigint not null,
  ledger int not null references ledgers (id),
  asset_code text not null,
  address_id bigint references addresses (id),
  address text not null,
  from_address text,
  amount numeric(78, 0) not null check (amount > 0),
  -- The account credited (a merchant's, or suspense) and the pending transfer that did it.
  credit_account_id bigint not null,
  pending_transfer_id uuid not null,
  confirmations_required int not null check (confirmations_required >= 1),
  -- What the payment is for (set by the invoice layer), and the owner it was routed to.
  owner text,
  reference text,
  seen_at timestamptz not null default now(),
  -- Posted (confirmed), or orphaned (its block left the chain: voided, or reversed if posted).
  confirmed_at timestamptz,
  orphaned_at timestamptz,
  unique (chain, txid, position, block_id)
);
create index payments_open_idx on payments (chain, height) where confirmed_at is null and orphaned_at is null;
create index payments_block_idx on payments (block_id);
create index payments_address_idx on payments (address_id);

-- Outputs of ours spent on chain (utxo), and value leaving watched accounts (evm/tron): the
-- payouts layer reconciles its transactions against these.
create table chain_spends (
  id uuid primary key,
  chain text not null,
  block_id bigint not null references chain_blocks (id),
  txid text not null,
  -- utxo: input index; evm/tron: log index or -1.
  position int not null,
  -- utxo: the outpoint spent; evm/tron: the asset and amount that left.
  prev_txid text,
  prev_vout int,
  asset text,
  amount numeric(78, 0),
  address text,
  seen_at timestamptz not null default now(),
  orphaned_at timestamptz
);
create index chain_spends_block_idx on chain_spends (block_id);
