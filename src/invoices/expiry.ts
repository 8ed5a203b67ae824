// The expiry loop: every few seconds, pending invoices past their expiry become expired (with
// their event rows and webhooks, in one transaction per batch). Any number of processes may run
// it: rows are taken with SKIP LOCKED and event ids are deterministic.

import type { Common } from '../common.ts';
import type { InvoiceService } from './service.ts';

export function startExpiryLoop(common: Common, invoices: InvoiceService): Promise<void> {
  const { clock, shutdown, logger, config } = common;
  const done = (async () => {
    while (!shutdown.signal.aborted) {
      try {
        const expired = await invoices.expireDue();
        if (expired > 0) logger.info({ expired }, 'invoices expired');
        // A full batch means more may be due: go again at once.
        if (expired < 500) await clock.sleep(config.invoices.expiryCheckIntervalMs, shutdown.signal);
      } catch (error) {
        if (shutdown.signal.aborted) break;
        logger.error({ err: error }, 'expiring invoices failed; retrying');
        await clock.sleep(config.invoices.expiryCheckIntervalMs, shutdown.signal);
      }
    }
  })();
  shutdown.onShutdown('invoice-expiry', () => done);
  return done;
}
