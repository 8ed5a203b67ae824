-- Ledger invariants. Every row returned is a broken invariant; an empty result means the ledger
-- is consistent. Run by `settle check` and by the tests after every scenario.
-- Columns: invariant, ledger, account_ids, detail.

with resolved as (
  -- Each transfer with the pending transfer it posts or voids.
  select t.id, t.debit_account_id, t.credit_account_id, t.amount, t.ledger, t.flags, t.pending_id,
         p.id as p_id, p.amount as p_amount, p.flags as p_flags,
         p.debit_account_id as p_debit, p.credit_account_id as p_credit, p.ledger as p_ledger
  from transfers t
  left join transfers p on p.id = t.pending_id
),
effects as (
  -- The change each transfer made to the four totals of its debit and of its credit account.
  select debit_account_id as account_id,
         case flags when 1 then amount when 2 then -p_amount when 4 then -p_amount else 0 end as dp,
         case flags when 0 then amount when 2 then amount else 0 end as dpo,
         0::numeric as cp, 0::numeric as cpo
  from resolved
  union all
  select credit_account_id,
         0::numeric, 0::numeric,
         case flags when 1 then amount when 2 then -p_amount when 4 then -p_amount else 0 end,
         case flags when 0 then amount when 2 then amount else 0 end
  from resolved
),
sums as (
  select account_id, sum(dp) as dp, sum(dpo) as dpo, sum(cp) as cp, sum(cpo) as cpo
  from effects group by account_id
)

-- 1. Per ledger, debits equal credits, pending and posted separately.
select 'ledger_unbalanced' as invariant, a.ledger, array_agg(a.id order by a.id) as account_ids,
       format('debits_posted %s <> credits_posted %s or debits_pending %s <> credits_pending %s',
              sum(a.debits_posted), sum(a.credits_posted), sum(a.debits_pending), sum(a.credits_pending)) as detail
from accounts a
group by a.ledger
having sum(a.debits_posted) <> sum(a.credits_posted) or sum(a.debits_pending) <> sum(a.credits_pending)

union all
-- 2. Each account's four totals equal the sums of its transfers.
select 'account_totals_mismatch', a.ledger, array[a.id],
       format('stored (dp %s, dpo %s, cp %s, cpo %s) but transfers sum to (dp %s, dpo %s, cp %s, cpo %s)',
              a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
              coalesce(s.dp, 0), coalesce(s.dpo, 0), coalesce(s.cp, 0), coalesce(s.cpo, 0))
from accounts a
left join sums s on s.account_id = a.id
where a.debits_pending <> coalesce(s.dp, 0) or a.debits_posted <> coalesce(s.dpo, 0)
   or a.credits_pending <> coalesce(s.cp, 0) or a.credits_posted <> coalesce(s.cpo, 0)

union all
-- 3. No account with a balance limit is past it.
select 'account_overdrawn', a.ledger, array[a.id],
       case when (a.flags & 1) <> 0
         then format('debits_must_not_exceed_credits: debits %s > credits_posted %s', a.debits_pending + a.debits_posted, a.credits_posted)
         else format('credits_must_not_exceed_debits: credits %s > debits_posted %s', a.credits_pending + a.credits_posted, a.debits_posted)
       end
from accounts a
where ((a.flags & 1) <> 0 and a.debits_pending + a.debits_posted > a.credits_posted)
   or ((a.flags & 2) <> 0 and a.credits_pending + a.credits_posted > a.debits_posted)

union all
-- 4. Every pending transfer is resolved at most once.
select 'pending_resolved_twice', min(r.ledger), array[min(r.debit_account_id), min(r.credit_account_id)],
       format('pending transfer %s is posted/voided by %s transfers', r.pending_id, count(*))
from resolved r
where r.pending_id is not null
group by r.pending_id
having count(*) > 1

union all
-- 5. A post or void resolves a pending transfer, on its accounts and ledger, within its amount.
select 'pending_resolution_invalid', r.ledger, array[r.debit_account_id, r.credit_account_id],
       format('transfer %s resolves %s: %s', r.id, r.pending_id,
              case when r.p_id is null then 'no such transfer'
                   when r.p_flags <> 1 then 'it is not pending'
                   when r.debit_account_id <> r.p_debit or r.credit_account_id <> r.p_credit or r.ledger <> r.p_ledger then 'accounts or ledger differ'
                   when r.flags = 4 and r.amount <> r.p_amount then 'void amount differs from the pending amount'
                   else format('posted %s exceeds pending %s', r.amount, r.p_amount) end)
from resolved r
where r.flags in (2, 4)
  and (r.p_id is null or r.p_flags <> 1
       or r.debit_account_id <> r.p_debit or r.credit_account_id <> r.p_credit or r.ledger <> r.p_ledger
       or (r.flags = 2 and r.amount > r.p_amount) or (r.flags = 4 and r.amount <> r.p_amount))

union all
-- 6. Every transfer names accounts and a ledger that exist (there are no foreign keys on the
--    append-only table; the writer checks them under lock, this checks the writer).
select 'transfer_reference_missing', t.ledger, array[t.debit_account_id, t.credit_account_id],
       format('transfer %s names %s', t.id,
              case when l.id is null then format('ledger %s, which does not exist', t.ledger)
                   when d.id is null then format('debit account %s, which does not exist', t.debit_account_id)
                   else format('credit account %s, which does not exist', t.credit_account_id) end)
from transfers t
left join ledgers l on l.id = t.ledger
left join accounts d on d.id = t.debit_account_id
left join accounts c on c.id = t.credit_account_id
where l.id is null or d.id is null or c.id is null

union all
-- 7. A transfer moves money within one ledger: its accounts belong to its ledger.
select 'transfer_crosses_ledgers', t.ledger, array[t.debit_account_id, t.credit_account_id],
       format('transfer %s on ledger %s between accounts of ledgers %s and %s', t.id, t.ledger, d.ledger, c.ledger)
from transfers t
join accounts d on d.id = t.debit_account_id
join accounts c on c.id = t.credit_account_id
where d.ledger <> t.ledger or c.ledger <> t.ledger

order by 1, 2;
