// The native API under /v1: invoices, balances, assets, webhook deliveries, the OpenAPI document.
// Handlers parse (zod), call a service and shape the reply; amounts are decimal strings.

import type PgBoss from 'pg-boss';
import { z } from 'zod';
import { formatAmount } from '../amount.ts';
import type { Common } from '../common.ts';
import type { Sql } from '../db/client.ts';
import { findAccounts } from '../ledger/accounts.ts';
import type { AssetRegistry } from '../invoices/assets.ts';
import type { InvoiceService } from '../invoices/service.ts';
import { invoiceJson, type ViewContext } from '../invoices/view.ts';
import { listDeliveries, redeliver } from '../webhooks/deliveries.ts';
import { CallbackUrl, checkCallbackUrl, describeUrlProblem } from '../webhooks/ssrf.ts';
import { instantInRange, jsonProblem, METADATA_DEPTH_MAX, textProblem } from '../invoices/input.ts';
import { ApiError, validationError } from './errors.ts';
import { route, type RouteSpec } from './routes.ts';

const decimal = z.string().regex(/^\d+(\.\d+)?$/, 'must be a decimal string like "12.50"');
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a uuid');
const statuses = ['pending', 'confirming', 'paid', 'expired', 'canceled'] as const;
/** Text stored in Postgres: refuses what text and jsonb cannot hold (NUL, lone surrogates). */
const storable = (schema: z.ZodString) => schema.superRefine((text, ctx) => {
  const problem = textProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});
const instant = z.iso.datetime({ offset: true }).refine((text) => instantInRange(Date.parse(text)), 'must be a time in the years 0001..9999');
const Metadata = z.record(z.string(), z.unknown()).superRefine((metadata, ctx) => {
  const problem = jsonProblem(metadata, METADATA_DEPTH_MAX);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
});

export const CreateInvoiceBody = z.strictObject({
  asset: z.string().min(1).max(32).describe('Asset code, e.g. USDT-ERC20 (GET /v1/assets)'),
  amount: decimal.optional().describe('Exact amount in the asset; or give amount_usd'),
  amount_usd: decimal.optional().describe('Amount in USD, converted at the rate source\'s rate (recorded on the invoice)'),
  expires_in_minutes: z.number().int().min(1).optional(),
  expires_at: instant.optional().describe('Expiry as an ISO 8601 time; or give expires_in_minutes (default 30)'),
  confirmations: z.number().int().min(1).optional(),
  order_id: storable(z.string().min(1).max(200)).optional().describe('The merchant\'s order; unique among its invoices that are not expired or canceled (else 409 order_id_in_use)'),
  callback_url: CallbackUrl.refine((text) => textProblem(text) === undefined, 'must not contain NUL or lone surrogates').optional(),
  metadata: Metadata.optional().describe(`Any JSON object, at most ${METADATA_DEPTH_MAX} levels deep`),
}).refine((b) => (b.amount === undefined) !== (b.amount_usd === undefined), { message: 'give exactly one of amount and amount_usd', path: ['amount'] })
  .refine((b) => b.expires_in_minutes === undefined || b.expires_at === undefined, { message: 'give at most one of expires_in_minutes and expires_at', path: ['expires_at'] });

const InvoiceReply = z.object({
  id: z.string(), object: z.literal('invoice'), status: z.enum(statuses), asset: z.string(), symbol: z.string(), chain: z.string(),
  network: z.string(), amount: z.string(), amount_usd: z.string().nullable(), rate_usd: z.string().nullable(), rate_source: z.string().nullable(),
  received_amount: z.string(), confirmed_amount: z.string(), address: z.string(), payment_uri: z.string(), checkout_url: z.string(),
  confirmations: z.object({ received: z.number(), required: z.number() }), underpaid: z.boolean(), overpaid: z.boolean(), paid_late: z.boolean(),
  txid: z.string().nullable(), order_id: z.string().nullable(), metadata: z.unknown(), callback_url: z.string().nullable(),
  expires_at: z.string(), created_at: z.string(), paid_at: z.string().nullable(), canceled_at: z.string().nullable(),
  events: z.array(z.object({ type: z.string(), from_status: z.string().nullable(), to_status: z.string(), data: z.unknown(), created_at: z.string() })).optional(),
});

const ListQuery = z.strictObject({
  status: z.enum(statuses).optional(),
  created_from: instant.optional(),
  created_to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

const IdParams = z.strictObject({ id: uuid });

export interface V1Deps {
  common: Common;
  sql: Sql;
  invoices: InvoiceService;
  assets: AssetRegistry;
  view: () => ViewContext;
  boss: PgBoss | undefined;
}

function principalOf(request: { principal?: { merchantId: string } }): string {
  const merchantId = request.principal?.merchantId;
  if (merchantId === undefined) throw new ApiError(401, 'unauthorized', 'authentication required');
  return merchantId;
}

export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): { createdAt: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  // A cursor is only ever made by encodeCursor; anything else (a year Postgres cannot hold) is refused here.
  if (!instantInRange(createdAt.getTime()) || id === undefined || !uuid.safeParse(id).success) {
    throw validationError([{ field: 'query.cursor', message: 'not a cursor this API returned' }]);
  }
  return { createdAt, id };
}

export function v1Routes(deps: V1Deps): RouteSpec[] {
  const { common, invoices, assets } = deps;
  const settings = common.config.invoices;

  return [
    route({
      method: 'POST', url: '/v1/invoices', summary: 'Create an invoice with its own deposit address', tag: 'invoices', auth: true,
      body: CreateInvoiceBody, reply: { status: 201, schema: InvoiceReply },
      async handler({ body, request }) {
        const merchantId = principalOf(request as never);
        if (body.metadata !== undefined && Buffer.byteLength(JSON.stringify(body.metadata)) > settings.metadataBytesMax) {
          throw validationError([{ field: 'body.metadata', message: `at most ${settings.metadataBytesMax} bytes of JSON` }]);
        }
        if (body.callback_url !== undefined) {
          const problem = checkCallbackUrl(body.callback_url, common.config.webhooks.allowPrivateAddresses);
          if (problem !== undefined) throw validationError([{ field: 'body.callback_url', message: describeUrlProblem(problem) }]);
        }
        const outcome = await invoices.create(merchantId, {
          asset: body.asset, amount: body.amount, amountUsd: body.amount_usd, expiresInMinutes: body.expires_in_minutes,
          expiresAt: body.expires_at === undefined ? undefined : new Date(body.expires_at),
          confirmations: body.confirmations, orderId: body.order_id, callbackUrl: body.callback_url, metadata: body.metadata,
        });
        if (!outcome.ok && outcome.code === 'order_id_in_use') {
          throw new ApiError(409, 'order_id_in_use', outcome.message, { field: 'body.order_id', invoice_id: outcome.invoiceId, status: outcome.status });
        }
        if (!outcome.ok) throw validationError([{ field: `body.${outcome.field}`, message: outcome.message }]);
        return invoiceJson(outcome.invoice, deps.view(), 0, []);
      },
    }),
    route({
      method: 'GET', url: '/v1/invoices/:id', summary: 'An invoice, with its event history', tag: 'invoices', auth: true,
      params: IdParams, reply: { status: 200, schema: InvoiceReply },
      async handler({ params, request }) {
        const found = await invoices.get(principalOf(request as never), params.id);
        if (found === undefined) throw new ApiError(404, 'invoice_not_found', `no invoice ${params.id}`);
        return invoiceJson(found.invoice, deps.view(), found.confirmations, found.events);
      },
    }),
    route({
      method: 'GET', url: '/v1/invoices', summary: 'Invoices, newest first, by status and creation date', tag: 'invoices', auth: true,
      query: ListQuery, reply: { status: 200, schema: z.object({ data: z.array(InvoiceReply), next_cursor: z.string().nullable() }) },
      async handler({ query, request }) {
        const page = await invoices.list({
          merchantId: principalOf(request as never), status: query.status, limit: query.limit + 1, after: decodeCursor(query.cursor),
          createdFrom: query.created_from === undefined ? undefined : new Date(query.created_from),
          createdTo: query.created_to === undefined ? undefined : new Date(query.created_to),
        });
        const items = page.slice(0, query.limit);
        const last = items[items.length - 1];
        return {
          data: items.map((i) => invoiceJson(i, deps.view(), i.status === 'paid' ? i.confirmationsRequired : 0)),
          next_cursor: page.length > query.limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null,
        };
      },
    }),
    route({
      method: 'POST', url: '/v1/invoices/:id/cancel', summary: 'Cancel an unpaid pending invoice', tag: 'invoices', auth: true,
      params: IdParams, reply: { status: 200, schema: InvoiceReply },
      async handler({ params, request }) {
        const outcome = await invoices.cancel(principalOf(request as never), params.id);
        if (!outcome.ok) throw new ApiError(outcome.code === 'not_found' ? 404 : 409, outcome.code === 'not_found' ? 'invoice_not_found' : 'invoice_not_cancelable', outcome.message);
        return invoiceJson(outcome.invoice, deps.view(), 0);
      },
    }),
    route({
      method: 'GET', url: '/v1/balances', summary: 'Per asset: pending and available balance from the ledger', tag: 'balances', auth: true,
      reply: { status: 200, schema: z.object({ data: z.array(z.object({ asset: z.string(), pending: z.string(), available: z.string() })) }) },
      async handler({ request }) {
        const merchantId = principalOf(request as never);
        const accounts = await findAccounts(deps.sql, { code: 'merchant', owner: merchantId });
        return {
          data: assets.list().map((asset) => {
            const account = accounts.find((a) => a.ledger === asset.ledgerId);
            // Available: posted credits less everything spent or reserved; pending: seen, not yet confirmed.
            const available = account === undefined ? 0n : account.creditsPosted - account.debitsPosted - account.debitsPending;
            const pending = account === undefined ? 0n : account.creditsPending;
            return { asset: asset.code, pending: formatAmount(pending, asset.decimals), available: formatAmount(available, asset.decimals) };
          }),
        };
      },
    }),
    route({
      method: 'GET', url: '/v1/assets', summary: 'Assets invoices can be created in', tag: 'assets', auth: true,
      reply: { status: 200, schema: z.object({ data: z.array(z.object({ code: z.string(), symbol: z.string(), chain: z.string(), network: z.string(), decimals: z.number(), confirmations: z.number(), contract: z.string().nullable() })) }) },
      async handler() {
        return { data: assets.list().map((a) => ({ code: a.code, symbol: a.symbol, chain: a.chain, network: a.network, decimals: a.decimals, confirmations: a.confirmations, contract: a.contract ?? null })) };
      },
    }),
    route({
      method: 'GET', url: '/v1/webhooks/deliveries', summary: 'Webhook delivery attempts, newest first', tag: 'webhooks', auth: true,
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20), cursor: z.string().max(200).optional(), event_id: uuid.optional(), invoice_id: uuid.optional() }),
      reply: { status: 200, schema: z.object({ data: z.array(z.record(z.string(), z.unknown())), next_cursor: z.string().nullable() }) },
      async handler({ query, request }) {
        const rows = await listDeliveries(deps.sql, principalOf(request as never), { limit: query.limit + 1, after: decodeCursor(query.cursor), eventId: query.event_id, invoiceId: query.invoice_id });
        const items = rows.slice(0, query.limit);
        const last = items[items.length - 1];
        return {
          data: items.map((d) => ({
            id: d.id, event_id: d.eventId, event_type: d.eventType, invoice_id: d.invoiceId ?? null, attempt: d.attempt, url: d.url,
            status_code: d.statusCode ?? null, latency_ms: d.latencyMs ?? null, error: d.error ?? null, event_state: d.eventState, created_at: d.createdAt.toISOString(),
          })),
          next_cursor: rows.length > query.limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null,
        };
      },
    }),
    route({
      method: 'POST', url: '/v1/webhooks/deliveries/:id/redeliver', summary: 'Send a delivery\'s event again now, to the current callback URL', tag: 'webhooks', auth: true,
      params: IdParams, reply: { status: 202, schema: z.object({ event_id: z.string(), status: z.literal('queued'), url: z.string() }) },
      async handler({ params, request }) {
        if (deps.boss === undefined) throw new ApiError(503, 'webhooks_unavailable', 'webhook delivery is not running in this process');
        const queued = await redeliver(deps.sql, deps.boss, common.clock, principalOf(request as never), params.id);
        if (queued === undefined) throw new ApiError(404, 'delivery_not_found', `no delivery ${params.id}`);
        return { event_id: queued.eventId, status: 'queued' as const, url: queued.url };
      },
    }),
  ];
}
