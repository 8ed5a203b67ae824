// `settle demo pay <invoiceId> [amount]`: pays a demo invoice from a funded dev account on the
// demo's dev chain (what a customer's wallet would do): mints the test USDT to the payer, then
// transfers it to the invoice's address; or sends ETH for an ETH invoice. It says what the payment
// will do to the invoice (complete it, leave it pending with a rest to pay, overpay it, or land in
// suspense because the invoice is canceled or expired), and refuses bad input with one sentence.

import { AmountError, formatAmount, parseAmount } from '../amount.ts';
import type { Queryable } from '../db/client.ts';
import { selectInvoice, type Invoice } from '../invoices/store.ts';
import type { DemoState } from './demo.ts';
import { tokenInterface, waitForReceipt } from './devchain.ts';

const INVOICE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEMO_DECIMALS: Record<string, number> = { ETH: 18, 'USDT-ERC20': 6 };

/** A refusal with the exit code it deserves: 2 for bad input, 1 for a state that forbids it. */
export class DemoPayError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2) {
    super(message);
    this.name = 'DemoPayError';
    this.exitCode = exitCode;
  }
}

export type DemoPayOutcome =
  | { kind: 'complete' }
  | { kind: 'partial'; remaining: bigint }
  | { kind: 'over'; excess: bigint; alreadyPaid: boolean }
  | { kind: 'suspense'; why: 'canceled' | 'expired' };

export interface DemoPayPlan {
  amount: bigint;
  decimals: number;
  outcome: DemoPayOutcome;
}

/** Decides what to send and what it will do to the invoice; throws DemoPayError for what it refuses. */
export function planDemoPayment(invoice: Invoice, amountText: string | undefined, nowMs: number): DemoPayPlan {
  const decimals = DEMO_DECIMALS[invoice.assetCode];
  if (decimals === undefined) throw new DemoPayError(`demo pay pays ETH and USDT-ERC20 invoices; invoice ${invoice.id} is in ${invoice.assetCode}`, 2);
  const owed = invoice.amount - invoice.receivedAmount;
  const show = (value: bigint) => `${formatAmount(value, decimals)} ${invoice.assetCode}`;
  const closed = invoice.status === 'canceled' || invoice.status === 'expired' || (invoice.status === 'pending' && nowMs >= invoice.expiresAt.getTime());
  if (!closed && owed <= 0n && amountText === undefined) {
    throw new DemoPayError(`invoice ${invoice.id} is already paid (${show(invoice.receivedAmount)} received, status ${invoice.status}), so nothing was sent; to overpay it anyway, give an amount: settle demo pay ${invoice.id} 1`, 1);
  }
  const amount = amountText === undefined ? (owed > 0n ? owed : invoice.amount) : parseDemoAmount(amountText, decimals, invoice.assetCode);
  if (closed) return { amount, decimals, outcome: { kind: 'suspense', why: invoice.status === 'canceled' ? 'canceled' : 'expired' } };
  if (amount < owed) return { amount, decimals, outcome: { kind: 'partial', remaining: owed - amount } };
  if (amount > owed) return { amount, decimals, outcome: { kind: 'over', excess: owed > 0n ? amount - owed : amount, alreadyPaid: owed <= 0n } };
  return { amount, decimals, outcome: { kind: 'complete' } };
}

function parseDemoAmount(text: string, decimals: number, asset: string): bigint {
  try {
    return parseAmount(text, decimals);
  } catch (error) {
    if (!(error instanceof AmountError)) throw error;
    throw new DemoPayError(`"${text}" is not an amount of ${asset}: ${error.message} (at most ${decimals} decimals, more than 0)`, 2);
  }
}

/** What the payment does to the invoice, in the words a first-time user needs. */
export function describeDemoPayment(invoice: Pick<Invoice, 'id' | 'amount' | 'receivedAmount' | 'assetCode' | 'confirmationsRequired'>, plan: DemoPayPlan): string {
  const show = (value: bigint) => `${formatAmount(value, plan.decimals)} ${invoice.assetCode}`;
  const { outcome } = plan;
  switch (outcome.kind) {
    case 'complete':
      return `the invoice turns confirming now and paid after ${invoice.confirmationsRequired} confirmations (a few seconds on the dev chain)`;
    case 'partial':
      return `that is part of it: the invoice stays pending (underpaid) with ${show(outcome.remaining)} of ${show(invoice.amount)} still to pay; \`settle demo pay ${invoice.id}\` pays the rest`;
    case 'over':
      return outcome.alreadyPaid
        ? `the invoice was already paid, so these ${show(plan.amount)} are an overpayment: credited to the merchant, the invoice flagged overpaid`
        : `that is ${show(outcome.excess)} more than the ${show(invoice.amount - invoice.receivedAmount)} due: the invoice turns paid after ${invoice.confirmationsRequired} confirmations, flagged overpaid, and all of it is credited to the merchant`;
    case 'suspense':
      return `the invoice is ${outcome.why}, so these coins do not pay it: they go to the suspense account (recorded and reported, the invoice flagged paid_late), not to the merchant`;
  }
}

export interface DemoPayment {
  txid: string;
  amount: string;
  asset: string;
  address: string;
  /** One sentence on what the payment does to the invoice. */
  effect: string;
}

/** Refuses what cannot be an invoice id before anything is opened. */
export function checkDemoInvoiceId(invoiceId: string): void {
  if (!INVOICE_ID.test(invoiceId)) throw new DemoPayError(`"${invoiceId}" is not an invoice id: give the id (a uuid) that POST /v1/invoices returned`, 2);
}

export async function payDemoInvoice(db: Queryable, state: DemoState, invoiceId: string, amountText: string | undefined, nowMs: number): Promise<DemoPayment> {
  if (state.rpcUrl === undefined || state.token === undefined) throw new DemoPayError('the demo has not run yet: start it with `npm start` first', 1);
  checkDemoInvoiceId(invoiceId);
  const invoice = await selectInvoice(db, invoiceId.toLowerCase());
  if (invoice === undefined) throw new DemoPayError(`there is no invoice ${invoiceId} in the demo's database`, 2);
  const plan = planDemoPayment(invoice, amountText, nowMs);
  const txid = await sendPayment(state.rpcUrl, state.token, invoice, plan.amount);
  return { txid, amount: formatAmount(plan.amount, plan.decimals), asset: invoice.assetCode, address: invoice.address, effect: describeDemoPayment(invoice, plan) };
}

async function sendPayment(url: string, token: string, invoice: Invoice, amount: bigint): Promise<string> {
  let id = 1;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params }), signal: AbortSignal.timeout(10_000) });
    const body = (await response.json()) as { result?: T; error?: { message: string } };
    if (body.error !== undefined) throw new Error(`dev chain ${method}: ${body.error.message}`);
    return body.result as T;
  };
  let payer: string;
  try {
    [, payer = ''] = await rpc<string[]>('eth_accounts');
  } catch (error) {
    throw new DemoPayError(`the demo's dev chain is not reachable at ${url}: is \`npm start\` running? (${(error as Error).message})`, 1);
  }
  let txid: string;
  if (invoice.assetCode === 'ETH') {
    txid = await rpc<string>('eth_sendTransaction', [{ from: payer, to: invoice.address, value: `0x${amount.toString(16)}` }]);
  } else {
    const mint = await rpc<string>('eth_sendTransaction', [{ from: payer, to: token, data: tokenInterface.encodeFunctionData('mint', [payer, amount]) }]);
    await waitForReceipt({ rpc }, mint);
    txid = await rpc<string>('eth_sendTransaction', [{ from: payer, to: token, data: tokenInterface.encodeFunctionData('transfer', [invoice.address, amount]) }]);
  }
  await waitForReceipt({ rpc }, txid);
  return txid;
}
