// A loopback TCP proxy in front of a real server (Postgres), for outage tests: `cut()` destroys
// every open connection and then, until `restore()`, refuses new ones (nothing listens: the
// client sees ECONNREFUSED, as when the server is down), resets them (accepted, then reset: a
// port forwarder whose target is gone) or black-holes them (accepted, never answered: a dropped
// route). The server behind it is real; only the wire between is broken.

import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type CutMode = 'refuse' | 'reset' | 'blackhole';

export interface TcpProxy {
  host: string;
  port: number;
  /** Connections forwarded to the server so far (a reconnecting client raises it). */
  readonly forwarded: number;
  cut(mode?: CutMode): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
  let mode: CutMode | 'forward' = 'forward';
  let forwarded = 0;
  const open = new Set<Socket>();

  const track = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // A cut resets sockets on purpose; their errors are the point, not a failure of the proxy.
    socket.on('error', () => {});
  };

  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'reset' || mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (mode === 'blackhole') {
      client.pause(); // held open, never read, never answered
      return;
    }
    forwarded += 1;
    const upstream = connect({ host: target.host, port: target.port });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  const listen = (on: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(on, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(port);
  const listening = (server.address() as AddressInfo).port;

  return {
    host: '127.0.0.1',
    port: listening,
    get forwarded() {
      return forwarded;
    },
    async cut(next = 'refuse') {
      mode = next;
      // resetAndDestroy sends an RST, as a crashed peer or a dropped route eventually does.
      for (const socket of open) socket.resetAndDestroy();
      if (next === 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restore() {
      // Connections black-holed during the cut stay black-holed, as they would on a real network:
      // the client's own timeouts must give up on them.
      if (mode === 'refuse') await listen(listening);
      mode = 'forward';
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}

/** A proxy in front of the test Postgres, and the database URL that goes through it. */
export async function proxiedDatabase(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(url);
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
  const proxied = new URL(url);
  proxied.hostname = proxy.host;
  proxied.port = String(proxy.port);
  return { proxy, url: proxied.toString() };
}
