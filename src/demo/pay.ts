// `settle demo pay <invoiceId> [amount]`: pays a demo invoice from a funded dev account on the
// demo's dev chain (what a customer's wallet would do): mints the test USDT to the payer, then
// transfers it to the invoice's address; or sends ETH for an ETH invoice.

import { formatAmount, parseAmount } from '../amount.ts';
import type { Queryable } from '../db/client.ts';
import { selectInvoice } from '../invoices/store.ts';
import type { DemoState } from './demo.ts';
import { tokenInterface, waitForReceipt } from './devchain.ts';

export interface DemoPayment {
  txid: string;
  amount: string;
  asset: string;
  address: string;
}

export async function payDemoInvoice(db: Queryable, state: DemoState, invoiceId: string, amountText: string | undefined): Promise<DemoPayment> {
  if (state.rpcUrl === undefined || state.token === undefined) throw new Error('the demo has not run yet: start it with `npm start` first');
  const invoice = await selectInvoice(db, invoiceId);
  if (invoice === undefined) throw new Error(`no invoice ${invoiceId}`);
  const decimals = invoice.assetCode === 'ETH' ? 18 : 6;
  if (invoice.assetCode !== 'ETH' && invoice.assetCode !== 'USDT-ERC20') throw new Error(`demo pay pays ETH and USDT-ERC20 invoices; this one is ${invoice.assetCode}`);
  const due = invoice.amount > invoice.receivedAmount ? invoice.amount - invoice.receivedAmount : invoice.amount;
  const amount = amountText === undefined ? due : parseAmount(amountText, decimals);
  const url = state.rpcUrl;
  let id = 1;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params }) });
    const body = (await response.json()) as { result?: T; error?: { message: string } };
    if (body.error !== undefined) throw new Error(`dev chain ${method}: ${body.error.message}`);
    return body.result as T;
  };
  let payer: string;
  try {
    [, payer = ''] = await rpc<string[]>('eth_accounts');
  } catch (error) {
    throw new Error(`the demo's dev chain is not reachable at ${url}: is \`npm start\` running? (${(error as Error).message})`);
  }
  let txid: string;
  if (invoice.assetCode === 'ETH') {
    txid = await rpc<string>('eth_sendTransaction', [{ from: payer, to: invoice.address, value: `0x${amount.toString(16)}` }]);
  } else {
    const mint = await rpc<string>('eth_sendTransaction', [{ from: payer, to: state.token, data: tokenInterface.encodeFunctionData('mint', [payer, amount]) }]);
    await waitForReceipt({ rpc }, mint);
    txid = await rpc<string>('eth_sendTransaction', [{ from: payer, to: state.token, data: tokenInterface.encodeFunctionData('transfer', [invoice.address, amount]) }]);
  }
  await waitForReceipt({ rpc }, txid);
  return { txid, amount: formatAmount(amount, decimals), asset: invoice.assetCode, address: invoice.address };
}
