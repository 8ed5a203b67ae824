// A local EVM node for tests: anvil (from the @foundry-rs/anvil npm package) on a free loopback
// port, its temporary files in a folder of its own, automine on (a block per transaction) unless
// asked otherwise. Helpers send the JSON-RPC calls tests need: deploy the test contracts
// (contracts/TestToken.json), send transactions, mine, snapshot/revert and reorg.
// When the binary is missing the tests that need it skip with a printed notice.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Interface, type InterfaceAbi } from 'ethers';
import { anvilBinary } from '../../src/demo/devchain.ts';
import { freePort } from '../../src/ports.ts';

export { anvilBinary };

// Deadlines bound only a failing wait (a passing one ends when anvil answers): generous, so a
// loaded machine twice as slow passes too.
const READY_TIMEOUT_MS = 60_000;
const START_ATTEMPTS_MAX = 3;
const RECEIPT_WAIT_MS = 60_000;
/** One JSON-RPC call, anvil_mine of a few hundred blocks included: a hung anvil fails the test. */
const RPC_TIMEOUT_MS = 120_000;

/** anvil's default dev accounts (mnemonic "test test … junk"), unlocked, 10,000 ETH each. */
export interface Anvil {
  url: string;
  chainId: number;
  accounts: string[];
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
  /** anvil_mine: `blocks` empty blocks (or including the pending transactions when automine is off). */
  mine(blocks?: number): Promise<void>;
  /** evm_mine: one block with whatever is pending. */
  evmMine(): Promise<void>;
  setAutomine(enabled: boolean): Promise<void>;
  snapshot(): Promise<string>;
  revert(id: string): Promise<boolean>;
  /** anvil_reorg: replaces the last `depth` blocks; `txBlockPairs` puts transactions into them
   * ([transaction request, block offset from the fork point]). */
  reorg(depth: number, txBlockPairs?: [Record<string, unknown>, number][]): Promise<void>;
  blockNumber(): Promise<number>;
  /** eth_sendTransaction from an unlocked account; returns the hash without waiting. */
  send(tx: { from: string; to?: string; value?: bigint; data?: string; gas?: bigint }): Promise<string>;
  /** Waits for a receipt (automine: immediate). */
  receipt(hash: string): Promise<{ status: string; blockNumber: string; blockHash: string; contractAddress: string | null; logs: unknown[] }>;
  deploy(contract: keyof Artifact['contracts'], args?: unknown[], from?: string): Promise<string>;
}

interface Artifact {
  contracts: Record<'TestToken' | 'EtherRejector' | 'BatchSender', { abi: InterfaceAbi; bytecode: string }>;
}

const ARTIFACT = JSON.parse(readFileSync(new URL('../../contracts/TestToken.json', import.meta.url), 'utf8')) as Artifact;
export const tokenInterface = new Interface(ARTIFACT.contracts.TestToken.abi);
export const batchSenderInterface = new Interface(ARTIFACT.contracts.BatchSender.abi);

/** The reason to skip anvil tests, printed once, or undefined when anvil can run. */
export function anvilSkipReason(): string | undefined {
  if (anvilBinary() !== undefined) return undefined;
  const reason = `anvil binary not found (npm package @foundry-rs/anvil-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}); skipping tests that need a local EVM node`;
  console.log(`# ${reason}`);
  return reason;
}

export interface StartAnvilOptions {
  chainId?: number;
  /** Extra command-line flags, e.g. ['--slots-in-an-epoch', '1']. */
  args?: string[];
}

export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const binary = anvilBinary();
  if (binary === undefined) throw new Error('anvil binary not found: check anvilSkipReason() first');
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS_MAX; attempt += 1) {
    try {
      return await startOnce(binary, options);
    } catch (error) {
      lastError = error; // most likely the free port was taken before anvil bound it
    }
  }
  throw lastError;
}

async function startOnce(binary: string, options: StartAnvilOptions): Promise<Anvil> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'settle-anvil-'));
  const chainId = options.chainId ?? 31337;
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--quiet', ...(options.args ?? [])];
  const child = spawn(binary, args, { cwd: dir, env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A test file that crashes before its after() hooks run must not leave anvil behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const url = `http://127.0.0.1:${port}`;
  let nextId = 1;

  async function rpc<T>(method: string, params: unknown[] = []): Promise<T> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
    const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
    if (body.error !== undefined) throw new Error(`anvil ${method}: ${body.error.code} ${body.error.message}`);
    return body.result as T;
  }

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilReady(rpc, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  const accounts = await rpc<string[]>('eth_accounts');
  return buildAnvil({ url, chainId, accounts, rpc, stop });
}

async function waitUntilReady(rpc: Anvil['rpc'], child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited with code ${child.exitCode}: ${stderr()}`);
    try {
      await rpc('eth_chainId');
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50)); // not listening yet
    }
  }
  throw new Error(`anvil did not answer within ${READY_TIMEOUT_MS} ms: ${stderr()}`);
}

function buildAnvil(base: Pick<Anvil, 'url' | 'chainId' | 'accounts' | 'rpc' | 'stop'>): Anvil {
  const { rpc } = base;
  const hex = (value: bigint | number): string => `0x${value.toString(16)}`;

  async function receipt(hash: string): Promise<Awaited<ReturnType<Anvil['receipt']>>> {
    const deadline = Date.now() + RECEIPT_WAIT_MS;
    while (Date.now() < deadline) {
      const found = await rpc<Awaited<ReturnType<Anvil['receipt']>> | null>('eth_getTransactionReceipt', [hash]);
      if (found !== null) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no receipt for ${hash} within ${RECEIPT_WAIT_MS} ms (automine off?)`);
  }

  return {
    ...base,
    receipt,
    mine: async (blocks = 1) => {
      await rpc('anvil_mine', [hex(blocks)]);
    },
    evmMine: async () => {
      await rpc('evm_mine');
    },
    setAutomine: async (enabled) => {
      await rpc('evm_setAutomine', [enabled]);
    },
    snapshot: () => rpc<string>('evm_snapshot'),
    revert: (id) => rpc<boolean>('evm_revert', [id]),
    reorg: async (depth, txBlockPairs = []) => {
      await rpc('anvil_reorg', [depth, txBlockPairs]);
    },
    blockNumber: async () => Number(BigInt(await rpc<string>('eth_blockNumber'))),
    send: (tx) => {
      const request: Record<string, string> = { from: tx.from };
      if (tx.to !== undefined) request['to'] = tx.to;
      if (tx.value !== undefined) request['value'] = hex(tx.value);
      if (tx.data !== undefined) request['data'] = tx.data;
      // An explicit gas limit skips estimation, so a transaction that reverts is still mined.
      if (tx.gas !== undefined) request['gas'] = hex(tx.gas);
      return rpc<string>('eth_sendTransaction', [request]);
    },
    deploy: async (contract, args = [], from) => {
      const { abi, bytecode } = ARTIFACT.contracts[contract];
      const data = bytecode + new Interface(abi).encodeDeploy(args).slice(2);
      const hash = await rpc<string>('eth_sendTransaction', [{ from: from ?? base.accounts[0], data }]);
      const mined = await receipt(hash);
      if (mined.status !== '0x1' || mined.contractAddress === null) throw new Error(`deploying ${contract} failed`);
      return mined.contractAddress;
    },
  };
}
