-- Merchants and their API keys, invoices with their event history, idempotency keys, and the
-- webhook outbox with every delivery attempt.

create table merchants (
  id text primary key check (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  name text not null check (length(name) between 1 and 200),
  -- HMAC-SHA256 key of the X-Settle-Signature header (and the dialects' signatures).
  webhook_secret text not null,
  -- Default callback for invoices created without one.
  callback_url text,
  created_at timestamptz not null default now()
);

-- API keys: a public id (pk_…) and a secret (sk_…) shown once; only the secret's SHA-256 is kept.
-- The secret alone (x-api-key, native bearer) or the pair (Bearer pk:sk, Basic) authenticates.
create table api_keys (
  id text primary key check (id ~ '^pk_[A-Za-z0-9]{8,64}$'),
  merchant_id text not null references merchants (id),
  secret_sha256 bytea not null unique,
  label text,
  -- Empty arrays mean "any".
  ip_allow text[] not null default '{}',
  origin_allow text[] not null default '{}',
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
create index api_keys_merchant_idx on api_keys (merchant_id);

create table invoices (
  id uuid primary key,
  merchant_id text not null references merchants (id),
  chain text not null,
  asset_code text not null,
  ledger int not null references ledgers (id),
  -- Amount due in base units of the asset.
  amount numeric(78, 0) not null check (amount > 0),
  -- When created from a USD amount: the USD text and the rate used, recorded exactly as decimal text.
  amount_usd text,
  rate_usd text,
  rate_source text,
  address_id bigint not null references addresses (id) unique,
  address text not null,
  status text not null check (status in ('pending', 'confirming', 'paid', 'expired', 'canceled')),
  confirmations_required int not null check (confirmations_required >= 1),
  expires_at timestamptz not null,
  order_id text check (length(order_id) <= 200),
  callback_url text check (length(callback_url) <= 2000),
  metadata jsonb,
  -- What a dialect (seed API) asked for, so it can answer in its own shape.
  dialect text,
  dialect_data jsonb,
  -- Totals of payments to the address, kept with each state change (payments hold the truth).
  received_amount numeric(78, 0) not null default 0,
  confirmed_amount numeric(78, 0) not null default 0,
  -- Flags: underpaid, overpaid, paid_late.
  underpaid boolean not null default false,
  overpaid boolean not null default false,
  paid_late boolean not null default false,
  last_txid text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  paid_at timestamptz,
  canceled_at timestamptz
);
create index invoices_merchant_created_idx on invoices (merchant_id, created_at desc, id desc);
create index invoices_expiry_idx on invoices (expires_at) where status = 'pending';
create unique index invoices_merchant_order_idx on invoices (merchant_id, order_id) where order_id is not null and dialect is null;

-- Every state change and every payment event of an invoice, in order.
create table invoice_events (
  id bigint generated always as identity primary key,
  invoice_id uuid not null references invoices (id),
  type text not null,
  from_status text,
  to_status text not null,
  data jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index invoice_events_invoice_idx on invoice_events (invoice_id, id);

-- POST idempotency: the first response for (merchant, key) with the hash of its request.
create table idempotency_keys (
  merchant_id text not null references merchants (id),
  key text not null check (length(key) between 1 and 255),
  request_sha256 bytea not null,
  response_status int not null,
  response_body jsonb not null,
  created_at timestamptz not null default now(),
  primary key (merchant_id, key)
);

-- The webhook outbox: one row per event, inserted in the transaction of the state change; the
-- delivery job (pg-boss) is enqueued in that same transaction with an id derived from the event.
create table webhook_events (
  id uuid primary key,
  merchant_id text not null references merchants (id),
  invoice_id uuid references invoices (id),
  type text not null,
  url text not null,
  payload jsonb not null,
  state text not null default 'pending' check (state in ('pending', 'delivered', 'dead')),
  attempts int not null default 0,
  next_attempt_at timestamptz,
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
create index webhook_events_merchant_idx on webhook_events (merchant_id, created_at desc);

create table webhook_deliveries (
  id uuid primary key,
  event_id uuid not null references webhook_events (id),
  merchant_id text not null references merchants (id),
  attempt int not null,
  url text not null,
  status_code int,
  latency_ms int,
  error text,
  response_body text,
  created_at timestamptz not null default now()
);
create index webhook_deliveries_merchant_idx on webhook_deliveries (merchant_id, created_at desc, id);
create index webhook_deliveries_event_idx on webhook_deliveries (event_id, attempt);
