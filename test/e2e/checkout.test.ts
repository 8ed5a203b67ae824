// The hosted checkout in a real browser (Debian chromium driven by playwright-core): the page
// shows the invoice's address and amount with a QR code and a countdown, and flips to paid
// without a reload once the payment is confirmed on the dev chain. A screenshot is saved.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { anvilSkipReason } from '../helpers/anvil.ts';
import { startEvmTestChain, type EvmTestChain } from '../helpers/evm-chain.ts';
import { startTestEngine, type TestEngine, type TestMerchant } from '../helpers/engine.ts';
import { CONDITION_TIMEOUT_MS } from '../helpers/wait.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
const skip = anvilSkipReason() ?? (CHROMIUM === undefined ? 'chromium is not installed (Debian package chromium); skipping the browser test' : undefined);
if (skip !== undefined && CHROMIUM === undefined) console.log(`# ${skip}`);
const SCREENSHOTS = fileURLToPath(new URL('../../test-output/', import.meta.url));

let chain: EvmTestChain | undefined;
let settle: TestEngine | undefined;
let merchant: TestMerchant;
after(async () => {
  await settle?.stop();
  await chain?.anvil.stop();
});

if (skip === undefined) {
  chain = await startEvmTestChain();
  settle = await startTestEngine(import.meta.filename, { chains: chain.config({ confirmations: 2 }) });
  merchant = await settle.merchant('Checkout shop');
}


// The test-level timeout only guards against a hang; each wait below has its own deadline.
test('the checkout page shows address, amount and QR, and turns to paid without a reload', { skip, timeout: 10 * 60_000 }, async () => {
  assert.ok(settle !== undefined && chain !== undefined && CHROMIUM !== undefined);
  const created = await fetch(`${settle.url}/v1/invoices`, {
    method: 'POST',
    headers: { ...merchant.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ asset: 'USDT-ERC20', amount: '42.5' }),
  }).then((r) => r.json() as Promise<{ id: string; address: string; checkout_url: string }>);
  assert.equal(created.checkout_url, `${settle.url}/pay/${created.id}`);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    // Every page wait (goto, selectors, functions) waits for its condition; the deadline only
    // bounds a failing test, so it is generous (Playwright's default is 30 s).
    page.setDefaultTimeout(CONDITION_TIMEOUT_MS);
    // The page's CSP allows its own style and script by nonce only: nothing of its own may be refused.
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text());
    });
    await page.goto(created.checkout_url);
    assert.equal(await page.evaluate("getComputedStyle(document.querySelector('main')).borderTopLeftRadius"), '12px', 'the inline style applies');
    assert.equal(await page.textContent('#address'), created.address);
    assert.equal(await page.textContent('#amount'), '42.5');
    assert.equal(await page.textContent('#symbol'), 'USDT');
    assert.equal(await page.getAttribute('#status', 'data-status'), 'pending');
    assert.ok(await page.isVisible('.qr svg'), 'the QR code is drawn');
    const href = await page.getAttribute('#wallet-link', 'href');
    assert.match(href ?? '', new RegExp(`^ethereum:${chain.token}@${chain.anvil.chainId}/transfer\\?address=${created.address}&uint256=42500000$`));
    await page.waitForFunction("/^\\d\\d:\\d\\d$/.test(document.getElementById('countdown')?.textContent ?? '')");
    const countdown = await page.textContent('#countdown');
    assert.ok(countdown !== null && countdown >= '29:00' && countdown <= '30:00', `countdown ${countdown}`);

    const loads: string[] = [];
    page.on('load', () => loads.push(page.url()));
    await chain.payToken(created.address, 42_500_000n);
    await page.waitForSelector('#status[data-status="confirming"]');
    await chain.anvil.mine(2);
    await page.waitForSelector('#status[data-status="paid"]');
    assert.match((await page.textContent('#status')) ?? '', /Paid/);
    assert.deepEqual(loads, [], 'the page turned to paid without reloading');
    assert.deepEqual(refused, [], 'the policy refused nothing of the page\'s own');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: `${SCREENSHOTS}checkout-paid.png`, fullPage: true });
    assert.ok(existsSync(`${SCREENSHOTS}checkout-paid.png`));
  } finally {
    await browser.close();
  }
});

test('an unknown or malformed invoice id is a 404 page, not an error', { skip }, async () => {
  assert.ok(settle !== undefined);
  assert.equal((await fetch(`${settle.url}/pay/00000000-0000-4000-8000-000000000000`)).status, 404);
  assert.equal((await fetch(`${settle.url}/pay/not-an-id`)).status, 404);
  const status = await fetch(`${settle.url}/pay/not-an-id/status`);
  assert.equal(status.status, 404);
  assert.equal(((await status.json()) as { error: { code: string } }).error.code, 'invoice_not_found');
});
