// The embedded demo: what `npm start` runs with no configuration. A dev chain (anvil) with a test
// USDT, Settle scanning it, a demo merchant with an API key, and a small local webhook receiver
// that logs what it receives, so a first-time user sees an invoice go pending → confirming → paid
// and its webhooks arrive. Its state (dev mnemonic, token address, demo key) lives in
// .settle/demo.json: development only, never for real money.

import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { HDNodeWallet, Mnemonic } from 'ethers';
import type { Logger } from 'pino';
import type { ConfigInput } from '../config.ts';
import type { Common } from '../common.ts';
import type { Engine } from '../main.ts';
import { createApiKey, createMerchant, getMerchant } from '../merchants/merchants.ts';
import { verifySignature } from '../webhooks/signature.ts';
import { deployToken, startDevChain, type DevChain } from './devchain.ts';

export const DEMO_MERCHANT_ID = 'demo';

export interface DemoState {
  version: 1;
  /** Mnemonic of the demo's deposit addresses (dev only). */
  mnemonic: string;
  token?: string;
  rpcUrl?: string;
  keyId?: string;
  secret?: string;
}

export interface PreparedDemo {
  devChain: DevChain;
  state: DemoState;
  configOverrides: ConfigInput;
  stateFile: string;
}

export function demoStateFile(embeddedDataDir: string): string {
  return join(dirname(resolve(embeddedDataDir)), 'demo.json');
}

export function readDemoState(file: string): DemoState | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as DemoState;
}

function writeDemoState(file: string, state: DemoState): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Starts the dev chain (deploying the test USDT on first run) and returns the chain config to scan it. */
export async function prepareDemo(embeddedDataDir: string, logger: Logger): Promise<PreparedDemo> {
  const stateFile = demoStateFile(embeddedDataDir);
  const state: DemoState = readDemoState(stateFile) ?? { version: 1, mnemonic: Mnemonic.fromEntropy(randomEntropy()).phrase };
  const devChain = await startDevChain({ stateFile: join(dirname(stateFile), 'anvil-state.json'), logger });
  const code = state.token === undefined ? '0x' : await devChain.rpc<string>('eth_getCode', [state.token, 'latest']);
  if (code === '0x') {
    state.token = await deployToken(devChain);
    logger.info({ token: state.token }, 'deployed the dev USDT (6 decimals) on the dev chain');
  }
  state.rpcUrl = devChain.url;
  writeDemoState(stateFile, state);
  const xpub = HDNodeWallet.fromPhrase(state.mnemonic, undefined, "m/44'/60'/0'").neuter().extendedKey;
  return {
    devChain,
    state,
    stateFile,
    configOverrides: {
      chains: {
        dev: {
          family: 'evm',
          chainId: devChain.chainId,
          native: { code: 'ETH', symbol: 'ETH', decimals: 18 },
          tokens: [{ code: 'USDT-ERC20', symbol: 'USDT', contract: state.token as string, decimals: 6 }],
          rpc: { url: devChain.url },
          xpub,
          confirmations: 3,
          finalizedTag: false,
          pollIntervalMs: 500,
          addressLookAhead: 100,
        },
      },
      // The demo's webhook receiver listens on loopback.
      webhooks: { allowPrivateAddresses: true, retryScheduleS: [5, 15, 60, 300, 900] },
    },
  };
}

/** After the engine started: the demo merchant and key, the webhook receiver, and the banner to print. */
export async function finishDemo(engine: Engine, common: Common, demo: PreparedDemo): Promise<string> {
  const { sql } = engine.database;
  const receiver = await startDemoReceiver(common.logger, () => getMerchant(sql, DEMO_MERCHANT_ID).then((m) => m?.webhookSecret));
  common.shutdown.onShutdown('demo-webhook-receiver', () => new Promise<void>((r) => receiver.server.close(() => r())));
  if ((await getMerchant(sql, DEMO_MERCHANT_ID)) === undefined) {
    await createMerchant(sql, common.random, { id: DEMO_MERCHANT_ID, name: 'Demo shop', callbackUrl: receiver.url });
  }
  await sql`update merchants set callback_url = ${receiver.url} where id = ${DEMO_MERCHANT_ID}`;
  if (demo.state.secret === undefined) {
    const key = await createApiKey(sql, common.random, DEMO_MERCHANT_ID, { label: 'demo' });
    demo.state.keyId = key.keyId;
    demo.state.secret = key.secret;
    writeDemoState(demo.stateFile, demo.state);
  }
  const api = engine.httpUrl;
  const auth = `-H 'Authorization: Bearer ${demo.state.secret}'`;
  return [
    '',
    'Settle demo is running: a dev chain (anvil, 1-second blocks) with a test USDT, scanned by Settle.',
    `  API        ${api}/v1   (OpenAPI: ${api}/v1/openapi.json, metrics: ${api}/metrics)`,
    `  Merchant   ${DEMO_MERCHANT_ID}   API key ${demo.state.secret}`,
    `  Webhooks   received and logged by the demo receiver at ${receiver.url}`,
    '',
    'Try it:',
    `  curl -s -X POST ${api}/v1/invoices ${auth} -H 'Content-Type: application/json' -d '{"asset":"USDT-ERC20","amount":"25"}'`,
    '  open the checkout_url of the reply in a browser, then pay the invoice from a funded dev account:',
    '  npx settle demo pay <invoice id>            (or: npx settle demo pay <invoice id> 10   to pay part of it)',
    `  curl -s ${api}/v1/invoices/<invoice id> ${auth}`,
    `  curl -s ${api}/v1/balances ${auth}`,
    '',
  ].join('\n');
}

interface DemoReceiver {
  server: Server;
  url: string;
}

async function startDemoReceiver(logger: Logger, secret: () => Promise<string | undefined>): Promise<DemoReceiver> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', async () => {
      const signature = String(req.headers['x-settle-signature'] ?? '');
      const key = await secret();
      const valid = key !== undefined && verifySignature(key, body, signature, Math.floor(Date.now() / 1000));
      let event: { type?: string; data?: { invoice_id?: string; status?: string; received_amount?: string; confirmations?: number } } = {};
      try {
        event = JSON.parse(body);
      } catch {
        // logged as received below; the signature check already says whether to trust it
      }
      logger.info({ type: event.type, invoice: event.data?.invoice_id, status: event.data?.status, received: event.data?.received_amount, confirmations: event.data?.confirmations, signature: valid ? 'valid' : 'INVALID' }, 'demo receiver: webhook received');
      res.writeHead(valid ? 200 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, url: `http://127.0.0.1:${port}/webhooks` };
}

function randomEntropy(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}
