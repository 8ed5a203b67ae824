// Starts the embedded Postgres for the test runner (plain JS so the runner needs no loader):
// it loads Settle's own embedded module through tsx.
import { register } from 'tsx/esm/api';
import { pino } from 'pino';

export async function startEmbeddedPostgres(dataDir) {
  const unregister = register();
  const { startEmbeddedPostgres: start } = await import('../../src/db/embedded.ts');
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  // Tests favour speed over crash safety of a throwaway cluster.
  const pg = await start({ dataDir, port: 0, logger, settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
  unregister();
  return pg;
}
