// Free TCP ports on loopback, for the embedded Postgres and for the nodes tests start.

import { createServer } from 'node:net';

/** Asks the kernel for a free port on 127.0.0.1. Another process could take it before we bind it;
 * callers that start servers on it retry on EADDRINUSE. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the kernel assigned'));
      });
    });
  });
}
