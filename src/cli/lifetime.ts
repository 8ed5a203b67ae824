// How long `settle start` lives: until SIGINT/SIGTERM, until the process that started it is gone
// (`npm start` stopped with SIGTERM ends npm and its shell but not its grandchild, which would
// keep serving, reparented), or until a failed start-up. Each ends in the one shutdown and an
// explicit exit: whatever is still open (a socket, a timer, a worker) cannot keep the process
// alive, and a shutdown that cannot finish is cut off after a bound.

import type { Common } from '../common.ts';
import { isProcessAlive } from '../processes.ts';

/** How often the parent is looked for. */
const PARENT_POLL_MS = 1_000;
/** Past this a shutdown is abandoned and the process exits anyway (each hook has its own, shorter bound). */
export const SHUTDOWN_EXIT_MS = 120_000;

/** Runs the shutdown once and exits with `code`, within SHUTDOWN_EXIT_MS whatever the hooks do. */
export function shutdownAndExit(common: Common, reason: string, code: number): Promise<never> {
  const forced = setTimeout(() => {
    common.logger.error({ reason, afterMs: SHUTDOWN_EXIT_MS }, 'shutdown did not finish in time; exiting anyway');
    process.exit(code === 0 ? 1 : code);
  }, SHUTDOWN_EXIT_MS);
  forced.unref();
  return common.shutdown.run(reason).then(() => process.exit(code));
}

export function installSignalHandlers(common: Common): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => void shutdownAndExit(common, signal, 0));
  }
}

/** Stops Settle when the process that started it has gone. Nothing is watched when that was init. */
export function exitWithParent(common: Common, parentPid: number = process.ppid): void {
  if (parentPid <= 1) return;
  const timer = setInterval(() => {
    if (isProcessAlive(parentPid)) return;
    clearInterval(timer);
    common.logger.warn({ parentPid }, 'the process that started Settle has exited; shutting down');
    void shutdownAndExit(common, 'parent exited', 0);
  }, PARENT_POLL_MS);
  timer.unref();
}
