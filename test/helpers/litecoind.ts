// A real Litecoin Core node in regtest for the integration tests: started on free ports with a
// temporary data folder, stopped (and the folder removed) after the file's tests. Where litecoind
// is not installed, `startLitecoind()` returns undefined and the caller skips with a notice.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/ports.ts';
import { createUtxoRpc, type UtxoRpc } from '../../src/chains/utxo/rpc.ts';

/** How long litecoind may take to answer its first call: bounds only a failing start, so generous. */
const READY_TIMEOUT_MS = 60_000;

export interface Litecoind {
  rpc: UtxoRpc;
  url: string;
  user: string;
  password: string;
  dataDir: string;
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** Mines `count` blocks to `address` (default: a fresh wallet address); returns their hashes. */
  mine(count: number, address?: string): Promise<string[]>;
  newAddress(type?: 'bech32' | 'legacy' | 'p2sh-segwit' | 'mweb'): Promise<string>;
  /** Sends `amount` (a decimal string in LTC) from the wallet; returns the txid. */
  send(address: string, amount: string): Promise<string>;
  height(): Promise<number>;
  stop(): Promise<void>;
}

export function litecoindAvailable(): boolean {
  return spawnSync('litecoind', ['-version'], { stdio: 'ignore' }).status === 0;
}

export async function startLitecoind(options: { rest?: boolean; extraArgs?: string[] } = {}): Promise<Litecoind | undefined> {
  if (!litecoindAvailable()) return undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'settle-ltc-'));
  const [rpcPort, p2pPort] = [await freePort(), await freePort()];
  const user = 'settle';
  const password = 'regtest-password';
  const args = [
    '-regtest', `-datadir=${dataDir}`, `-rpcport=${rpcPort}`, `-port=${p2pPort}`, '-rpcbind=127.0.0.1',
    '-rpcallowip=127.0.0.1', `-rpcuser=${user}`, `-rpcpassword=${password}`, '-listen=0', '-dnsseed=0', '-discover=0',
    '-fallbackfee=0.0002', '-txindex=0', '-printtoconsole=0', '-rpcworkqueue=64', '-rpcthreads=8',
    options.rest === false ? '-rest=0' : '-rest=1',
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn('litecoind', args, { stdio: 'ignore' });
  // A test file that crashes before its after() hooks run must not leave the node behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${rpcPort}/`;
  const rpc = createUtxoRpc({ url, user, password, timeoutMs: 30_000, attemptsMax: 1 });
  const call = <T>(method: string, params: unknown[] = []) => rpc.call<T>(method, params);

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await call('getblockcount');
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`litecoind did not start: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await call('createwallet', ['settle-test']);
  let miningAddress: string | undefined;

  const node: Litecoind = {
    rpc,
    url,
    user,
    password,
    dataDir,
    call,
    async newAddress(type = 'bech32') {
      return call<string>('getnewaddress', ['', type]);
    },
    async mine(count, address) {
      miningAddress ??= await node.newAddress();
      return call<string[]>('generatetoaddress', [count, address ?? miningAddress]);
    },
    async send(address, amount) {
      return call<string>('sendtoaddress', [address, amount]);
    },
    async height() {
      return call<number>('getblockcount');
    },
    async stop() {
      await call('stop').catch(() => {});
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      process.removeListener('exit', killOnExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return node;
}
