// The embedded demo: what `npm start` runs with no configuration. A dev chain (anvil) with a test
// USDT, Settle scanning it, a demo merchant with an API key, and a small local webhook receiver
// that logs what it receives, so a first-time user sees an invoice go pending → confirming → paid
// and its webhooks arrive. Its state (dev mnemonic, token address, the demo merchant's id, key and
// webhook secret, the receiver's port) lives in .settle/demo.json: development only, never for
// real money. The receiver keeps its port across restarts, so webhooks queued before a restart
// (and their retries) still reach it.

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
/** The demo retries failed webhooks sooner than the default (1 min … 6 h), so a user sees it happen. */
export const DEMO_RETRY_SCHEDULE_S = [5, 15, 60, 300, 900];

export interface DemoState {
  version: 1;
  /** Mnemonic of the demo's deposit addresses (dev only). */
  mnemonic: string;
  token?: string;
  rpcUrl?: string;
  apiUrl?: string;
  merchantId?: string;
  /** The demo API key: its public id (pk_…) and its secret (sk_…). */
  keyId?: string;
  secret?: string;
  /** The demo merchant's webhook signing secret (whsec_…). */
  webhookSecret?: string;
  /** Where the demo's webhook receiver listens; kept so a restart listens there again. */
  receiverPort?: number;
  webhookUrl?: string;
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
      webhooks: { allowPrivateAddresses: true, retryScheduleS: DEMO_RETRY_SCHEDULE_S },
      // The demo's chain is local and needs no internet: USDT at the fixed 1:1, no live tickers.
      prices: { market: { providers: [] } },
    },
  };
}

/** After the engine started: the demo merchant and key, the webhook receiver, and the banner to print. */
export async function finishDemo(engine: Engine, common: Common, demo: PreparedDemo): Promise<string> {
  const { sql } = engine.database;
  const { state } = demo;
  const receiver = await startDemoReceiver(common.logger, state.receiverPort, () => getMerchant(sql, DEMO_MERCHANT_ID).then((m) => m?.webhookSecret));
  common.shutdown.onShutdown('demo-webhook-receiver', () => new Promise<void>((r) => receiver.server.close(() => r())));
  const merchant = (await getMerchant(sql, DEMO_MERCHANT_ID)) ?? (await createMerchant(sql, common.random, { id: DEMO_MERCHANT_ID, name: 'Demo shop', callbackUrl: receiver.url }));
  if (merchant.callbackUrl !== undefined && merchant.callbackUrl !== receiver.url) {
    // The receiver had to move (its port was taken): webhooks still waiting for a retry follow it.
    const moved = await sql`update webhook_events set url = ${receiver.url} where merchant_id = ${DEMO_MERCHANT_ID} and state = 'pending' and url = ${merchant.callbackUrl}`;
    common.logger.warn({ from: merchant.callbackUrl, to: receiver.url, pendingEventsMoved: moved.count }, 'the demo webhook receiver moved to another port');
  }
  await sql`update merchants set callback_url = ${receiver.url} where id = ${DEMO_MERCHANT_ID}`;
  if (state.keyId === undefined || state.secret === undefined || !(await keyIsActive(engine, state.keyId))) {
    // First run, or a database started over under an old demo.json: a key that works.
    const key = await createApiKey(sql, common.random, DEMO_MERCHANT_ID, { label: 'demo' });
    state.keyId = key.keyId;
    state.secret = key.secret;
  }
  Object.assign(state, { apiUrl: engine.httpUrl, merchantId: DEMO_MERCHANT_ID, webhookSecret: merchant.webhookSecret, receiverPort: receiver.port, webhookUrl: receiver.url });
  writeDemoState(demo.stateFile, state);
  return demoBanner(state as Required<DemoState>, demo.stateFile);
}

async function keyIsActive(engine: Engine, keyId: string): Promise<boolean> {
  const rows = await engine.database.sql`select 1 from api_keys where id = ${keyId} and merchant_id = ${DEMO_MERCHANT_ID} and revoked_at is null`;
  return rows.length > 0;
}

function demoBanner(state: Required<DemoState>, stateFile: string): string {
  const api = state.apiUrl;
  const auth = `-H 'Authorization: Bearer ${state.secret}'`;
  const basic = Buffer.from(`${state.keyId}:${state.secret}`).toString('base64');
  return [
    '',
    'Settle demo is running: a dev chain (anvil, 1-second blocks) with a test USDT, scanned by Settle.',
    `  API        ${api}/v1   (OpenAPI: ${api}/v1/openapi.json, metrics: ${api}/metrics)`,
    `  Merchant   id ${state.merchantId}   (with the secret: 'x-api-key: ${state.secret}' and 'merchant-id: ${state.merchantId}')`,
    `  API key    id ${state.keyId}   secret ${state.secret}`,
    `             send it as 'Authorization: Bearer ${state.secret}', 'Bearer ${state.keyId}:${state.secret}'`,
    `             or 'Basic ${basic}' (base64 of key id:secret)`,
    `  Webhooks   received and logged by the demo receiver at ${state.webhookUrl}`,
    `             signed with the webhook secret ${state.webhookSecret} (X-Settle-Signature)`,
    `             failed deliveries retried after ${DEMO_RETRY_SCHEDULE_S.map(formatSeconds).join(', ')} (the demo's short schedule)`,
    `  Saved in   ${stateFile}`,
    '',
    'Try it:',
    `  curl -s -X POST ${api}/v1/invoices ${auth} -H 'Content-Type: application/json' -d '{"asset":"USDT-ERC20","amount":"25"}'`,
    '  open the checkout_url of the reply in a browser, then pay the invoice from a funded dev account:',
    '  npx settle demo pay <invoice id>            (or: npx settle demo pay <invoice id> 10   to pay part of it)',
    `  curl -s ${api}/v1/invoices/<invoice id> ${auth}`,
    `  curl -s ${api}/v1/balances ${auth}`,
    `  curl -s ${api}/v1/webhooks/deliveries ${auth}`,
    '',
  ].join('\n');
}

function formatSeconds(seconds: number): string {
  return seconds < 60 ? `${seconds} s` : `${seconds / 60} min`;
}

interface DemoReceiver {
  server: Server;
  port: number;
  url: string;
}

/** The demo's webhook receiver, on its previous port when it has one and that port is free. */
async function startDemoReceiver(logger: Logger, preferredPort: number | undefined, secret: () => Promise<string | undefined>): Promise<DemoReceiver> {
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
  if (preferredPort === undefined || !(await listen(server, preferredPort))) {
    if (preferredPort !== undefined) logger.warn({ port: preferredPort }, 'the demo webhook receiver\'s port is taken; it listens on another one');
    await listen(server, 0);
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { server, port, url: `http://127.0.0.1:${port}/webhooks` };
}

/** Listens on 127.0.0.1:port; false when the port is taken (or not ours to take). */
function listen(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

function randomEntropy(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}
