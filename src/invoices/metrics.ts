// settle_invoices_total{status}: invoices entering each status (created as pending, then each
// transition, including going back on a reorg). Counted as the state changes are written; a
// transaction that is retried after a write race may count its transitions once more.

import { Counter, type Registry } from 'prom-client';

const cache = new WeakMap<Registry, Counter<'status'>>();

export function invoiceCounter(registry: Registry): Counter<'status'> {
  let counter = cache.get(registry);
  if (counter === undefined) {
    counter = new Counter({ name: 'settle_invoices_total', help: 'Invoices entering each status', labelNames: ['status'], registers: [registry] });
    cache.set(registry, counter);
  }
  return counter;
}
