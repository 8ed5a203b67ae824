-- An order_id may be used again once every earlier invoice for it expired or was canceled (a shop
-- issues a new invoice for the same order); while one is pending, confirming or paid, the API
-- refuses another (409 order_id_in_use). The service checks this at creation under a per-order
-- advisory lock rather than with a unique index over those states: invoice states are changed on
-- the scanning path, which must never fail on a constraint, and the state machine lets a reorg
-- move states back.
drop index invoices_merchant_order_idx;
create index invoices_merchant_order_idx on invoices (merchant_id, order_id) where order_id is not null;
