// Merchants and API keys. A key is a public id (pk_…) and a secret (sk_…) shown once at creation;
// only the secret's SHA-256 is stored (secrets are 192 random bits, so a plain hash cannot be
// brute-forced). A key can be revoked, and limited to IP addresses and browser Origins.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Random } from '../common.ts';
import type { Queryable } from '../db/client.ts';
import { SettleError } from '../errors.ts';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function randomToken(random: Random, length: number): string {
  const bytes = random.bytes(length * 2);
  let out = '';
  // Rejection sampling keeps every character equally likely.
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    const b = bytes[i] as number;
    if (b < 248) out += BASE62[b % 62];
  }
  return out.length === length ? out : out + randomToken(random, length - out.length);
}

export interface Merchant {
  id: string;
  name: string;
  webhookSecret: string;
  callbackUrl: string | undefined;
}

export async function createMerchant(db: Queryable, random: Random, input: { id?: string; name: string; callbackUrl?: string }): Promise<Merchant> {
  const id = input.id ?? `m_${randomToken(random, 16)}`;
  const webhookSecret = `whsec_${randomToken(random, 32)}`;
  const rows = await db`
    insert into merchants (id, name, webhook_secret, callback_url) values (${id}, ${input.name}, ${webhookSecret}, ${input.callbackUrl ?? null})
    on conflict (id) do nothing
    returning id`;
  if (rows.length === 0) throw new SettleError('merchant_exists', `a merchant with id ${id} exists already`);
  return { id, name: input.name, webhookSecret, callbackUrl: input.callbackUrl };
}

export async function getMerchant(db: Queryable, id: string): Promise<Merchant | undefined> {
  const [row] = await db<{ id: string; name: string; webhook_secret: string; callback_url: string | null }[]>`
    select id, name, webhook_secret, callback_url from merchants where id = ${id}`;
  return row === undefined ? undefined : { id: row.id, name: row.name, webhookSecret: row.webhook_secret, callbackUrl: row.callback_url ?? undefined };
}

export interface CreatedApiKey {
  keyId: string;
  /** Shown once; Settle keeps only its hash. */
  secret: string;
  merchantId: string;
}

export async function createApiKey(
  db: Queryable,
  random: Random,
  merchantId: string,
  options: { label?: string; ipAllow?: string[]; originAllow?: string[] } = {},
): Promise<CreatedApiKey> {
  const keyId = `pk_${randomToken(random, 20)}`;
  const secret = `sk_${randomToken(random, 32)}`;
  const rows = await db`
    insert into api_keys (id, merchant_id, secret_sha256, label, ip_allow, origin_allow)
    select ${keyId}, id, ${sha256(secret)}, ${options.label ?? null}, ${options.ipAllow ?? []}::text[], ${options.originAllow ?? []}::text[]
    from merchants where id = ${merchantId}
    returning id`;
  if (rows.length === 0) throw new SettleError('merchant_not_found', `no merchant ${merchantId}`);
  return { keyId, secret, merchantId };
}

export async function revokeApiKey(db: Queryable, merchantId: string, keyId: string): Promise<boolean> {
  const rows = await db`update api_keys set revoked_at = now() where id = ${keyId} and merchant_id = ${merchantId} and revoked_at is null returning id`;
  return rows.length > 0;
}

export interface Credentials {
  /** pk_… when the client sent a pair; undefined when it sent the secret alone. */
  keyId?: string | undefined;
  secret: string;
  /** merchant-id header, when sent: must be the key's merchant. */
  merchantId?: string | undefined;
}

export interface AuthenticatedKey {
  keyId: string;
  merchantId: string;
  ipAllow: string[];
  originAllow: string[];
}

/** The key the credentials prove, or undefined (unknown, wrong secret, revoked, other merchant). */
export async function authenticate(db: Queryable, credentials: Credentials): Promise<AuthenticatedKey | undefined> {
  const digest = sha256(credentials.secret);
  const [row] = await db<{ id: string; merchant_id: string; secret_sha256: Buffer; ip_allow: string[]; origin_allow: string[] }[]>`
    select id, merchant_id, secret_sha256, ip_allow, origin_allow from api_keys
    where secret_sha256 = ${digest} and revoked_at is null`;
  if (row === undefined) return undefined;
  // The lookup found the hash; compare again in constant time, and check what else was claimed.
  if (!timingSafeEqual(row.secret_sha256, digest)) return undefined;
  if (credentials.keyId !== undefined && credentials.keyId !== row.id) return undefined;
  if (credentials.merchantId !== undefined && credentials.merchantId !== row.merchant_id) return undefined;
  void db`update api_keys set last_used_at = now() where id = ${row.id} and (last_used_at is null or last_used_at < now() - interval '1 minute')`.catch(() => {});
  return { keyId: row.id, merchantId: row.merchant_id, ipAllow: row.ip_allow, originAllow: row.origin_allow };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
