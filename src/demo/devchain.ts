// The local development chain of the embedded demo: anvil (npm @foundry-rs/anvil) on a free
// loopback port, one-second blocks, its state kept in .settle so a restart continues the same
// chain, and a test USDT (contracts/TestToken.sol, 6 decimals) deployed once.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Interface, type InterfaceAbi } from 'ethers';
import type { Logger } from 'pino';
import { freePort } from '../ports.ts';

const READY_TIMEOUT_MS = 20_000;
const STATE_DUMP_INTERVAL_S = 5;
export const DEV_CHAIN_ID = 31337;

interface Artifact {
  contracts: Record<'TestToken', { abi: InterfaceAbi; bytecode: string }>;
}

export const TOKEN_ARTIFACT = JSON.parse(readFileSync(new URL('../../contracts/TestToken.json', import.meta.url), 'utf8')) as Artifact;
export const tokenInterface = new Interface(TOKEN_ARTIFACT.contracts.TestToken.abi);

/** The anvil binary of this platform's @foundry-rs package, or undefined when it is not installed. */
export function anvilBinary(): string | undefined {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  try {
    const packageJson = createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
    const binary = join(dirname(packageJson), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

export interface DevChain {
  url: string;
  chainId: number;
  /** anvil's funded, unlocked accounts. */
  accounts: string[];
  rpc<T>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/**
 * anvil is started by a small sh wrapper that becomes anvil (exec, same pid) after starting a
 * watcher on Settle's pipe (the wrapper's stdin, kept as fd 3): when Settle exits, even by
 * `kill -9`, the pipe closes, the watcher's `cat` ends and it stops anvil with SIGINT, which lets
 * anvil write its state. (A background job of a non-interactive shell ignores SIGINT, so anvil
 * itself is the foreground `exec`, not the job.) Arguments: $1 anvil, the rest its arguments.
 */
const WRAPPER = [
  'exec 3<&0',
  '(cat <&3 >/dev/null; kill -INT $$ 2>/dev/null) &',
  'exec "$@" </dev/null 3<&-',
].join('\n');
const ORPHAN_STOP_TIMEOUT_MS = 15_000;

export async function startDevChain(options: { stateFile: string; logger: Logger; blockTimeS?: number }): Promise<DevChain> {
  const binary = anvilBinary();
  if (binary === undefined) throw new Error('anvil is not installed (npm package @foundry-rs/anvil); the demo needs it for its dev chain');
  const pidFile = `${options.stateFile}.pid`;
  await stopOrphan(pidFile, options.logger);
  const port = await freePort();
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'settle-dev-chain', binary,
    '--host', '127.0.0.1', '--port', String(port), '--chain-id', String(DEV_CHAIN_ID), '--quiet',
    '--block-time', String(options.blockTimeS ?? 1), '--state', options.stateFile, '--state-interval', String(STATE_DUMP_INTERVAL_S),
  // Its own process group: a Ctrl-C in the terminal reaches Settle, which stops anvil in order.
  ], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  child.stdin?.on('error', () => {}); // the wrapper gone first: nothing left to tell
  // The next start stops this anvil if it outlives us (its pid is the wrapper's, after exec).
  mkdirSync(dirname(pidFile), { recursive: true });
  if (child.pid !== undefined) writeFileSync(pidFile, `${child.pid}\n`);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    rmSync(pidFile, { force: true });
    resolve();
  }));
  const url = `http://127.0.0.1:${port}`;
  let id = 1;
  async function rpc<T>(method: string, params: unknown[] = []): Promise<T> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params }) });
    const body = (await response.json()) as { result?: T; error?: { message: string } };
    if (body.error !== undefined) throw new Error(`dev chain ${method}: ${body.error.message}`);
    return body.result as T;
  }
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await rpc('eth_chainId');
      break;
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        killGroup(child.pid, 'SIGKILL');
        throw new Error(`the dev chain (anvil) did not start: ${stderr || (error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  options.logger.info({ url, chainId: DEV_CHAIN_ID, stateFile: options.stateFile }, 'dev chain (anvil) running');
  return {
    url,
    chainId: DEV_CHAIN_ID,
    accounts: await rpc<string[]>('eth_accounts'),
    rpc,
    async stop() {
      // Closing the pipe makes the wrapper stop anvil with SIGINT, which lets it dump its state
      // so the next start continues the same chain.
      child.stdin?.end();
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Stops an anvil a previous run left behind on the same state file (its wrapper was killed with it). */
async function stopOrphan(pidFile: string, logger: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return; // no pid file: no anvil of ours is running
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isAnvil(pid)) return;
  logger.warn({ pid, pidFile }, 'a dev chain (anvil) of an earlier run is still running on this state; stopping it');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + ORPHAN_STOP_TIMEOUT_MS;
  while (isAnvil(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function isAnvil(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A pid file that outlived a reboot may name a pid now used by another program.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('anvil');
  } catch {
    return true; // no /proc (not Linux): trust the pid file
  }
}

/** Waits for a transaction's receipt (one-second blocks). */
export async function waitForReceipt(chain: Pick<DevChain, 'rpc'>, hash: string, timeoutMs = 30_000): Promise<{ status: string; contractAddress: string | null; blockNumber: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const receipt = await chain.rpc<{ status: string; contractAddress: string | null; blockNumber: string } | null>('eth_getTransactionReceipt', [hash]);
    if (receipt !== null) return receipt;
    if (Date.now() > deadline) throw new Error(`transaction ${hash} was not mined within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function deployToken(chain: DevChain): Promise<string> {
  const { bytecode } = TOKEN_ARTIFACT.contracts.TestToken;
  const data = bytecode + tokenInterface.encodeDeploy(['Tether USD (dev)', 'USDT', 6]).slice(2);
  const hash = await chain.rpc<string>('eth_sendTransaction', [{ from: chain.accounts[0], data }]);
  const receipt = await waitForReceipt(chain, hash);
  if (receipt.status !== '0x1' || receipt.contractAddress === null) throw new Error('deploying the dev USDT failed');
  return receipt.contractAddress;
}
