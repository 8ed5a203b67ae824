// Waiting: resolves after `ms`, or early (without rejecting) when `signal` aborts, so loops that
// sleep between attempts stop at once on shutdown. The system clock and retry() use it.

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
