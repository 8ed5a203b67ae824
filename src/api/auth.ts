// API authentication, accepting the credential forms of the seed APIs and our own:
//   x-api-key: <secret>  (+ merchant-id / merchant_id: <merchant>)     Smart CloudPay
//   Authorization: Bearer <key>:<secret>                               CryptoPayment
//   Authorization: Basic base64(<key>:<secret>)                        SmartyPay (curl --user)
//   Authorization: Bearer <secret>                                     native
// Credentials are parsed strictly: a header with anything more or less than one of these forms
// is refused, never read in part. Refused credentials count against the client address and the
// key id (429 with Retry-After past the limit). Then the key's IP and Origin allow-lists.
// Failures are 401/403/429 in the one error shape; no secret appears in a message.

import { canonicalAddress } from '../webhooks/addresses.ts';
import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/client.ts';
import { authenticate, type Credentials } from '../merchants/merchants.ts';
import { addressBucket, type FailureLimiter } from './auth-limit.ts';
import { ApiError } from './errors.ts';

export interface Principal {
  merchantId: string;
  keyId: string;
}

export type CredentialsRead =
  | { kind: 'none' }
  | { kind: 'malformed'; message: string }
  | { kind: 'given'; credentials: Credentials };

/** Visible ASCII, no spaces: what every secret, key id and token68 value is made of. */
const TOKEN = /^[\x21-\x7e]+$/;
const MERCHANT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The form of our key ids: only these are tracked per key (others name no key), which also keeps
 * each tracked name short. */
const KEY_ID = /^pk_[A-Za-z0-9]{8,64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(message: string): CredentialsRead {
  return { kind: 'malformed', message };
}

/** `key:secret`: two tokens around one colon (neither key ids nor secrets contain one). */
function pair(text: string, merchantId: string | undefined): Credentials | undefined {
  const parts = text.split(':');
  const [keyId = '', secret = ''] = parts;
  if (parts.length !== 2 || !TOKEN.test(keyId) || !TOKEN.test(secret)) return undefined;
  return { keyId, secret, merchantId };
}

function readAuthorization(authorization: string, merchantId: string | undefined): CredentialsRead {
  const match = /^([A-Za-z]+) +([^ ]+)$/.exec(authorization);
  if (match === null) return malformed('the Authorization header must be "<scheme> <credentials>" with nothing after them');
  const [, scheme = '', value = ''] = match;
  if (!TOKEN.test(value)) return malformed('the Authorization credentials contain characters no key has');
  if (/^bearer$/i.test(scheme)) {
    if (!value.includes(':')) return { kind: 'given', credentials: { secret: value, merchantId } };
    const credentials = pair(value, merchantId);
    return credentials === undefined ? malformed('Bearer credentials are <secret> or <key>:<secret>') : { kind: 'given', credentials };
  }
  if (/^basic$/i.test(scheme)) {
    if (!BASE64.test(value)) return malformed('Basic credentials must be base64 of <key>:<secret>');
    let decoded: string;
    try {
      decoded = utf8.decode(Buffer.from(value, 'base64'));
    } catch {
      return malformed('Basic credentials must be base64 of UTF-8 text');
    }
    const credentials = pair(decoded, merchantId);
    return credentials === undefined ? malformed('Basic credentials must be base64 of <key>:<secret>') : { kind: 'given', credentials };
  }
  return malformed('the Authorization scheme must be Bearer or Basic');
}

export function readCredentials(request: FastifyRequest): CredentialsRead {
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const merchantHeader = header('merchant-id');
  const merchantAlias = header('merchant_id');
  if (merchantHeader !== undefined && merchantAlias !== undefined && merchantHeader !== merchantAlias) {
    return malformed('merchant-id and merchant_id name different merchants');
  }
  const merchantId = merchantHeader ?? merchantAlias;
  if (merchantId !== undefined && !MERCHANT_ID.test(merchantId)) return malformed('merchant-id is not a merchant id');
  const authorization = header('authorization');
  if (authorization !== undefined) return readAuthorization(authorization, merchantId);
  const apiKey = header('x-api-key');
  if (apiKey === undefined) return { kind: 'none' };
  if (!TOKEN.test(apiKey)) return malformed('x-api-key must be one key secret');
  return { kind: 'given', credentials: { secret: apiKey, merchantId } };
}

export interface AuthLimits {
  address: FailureLimiter;
  key: FailureLimiter;
}

export async function authenticateRequest(db: Queryable, request: FastifyRequest, limits: AuthLimits): Promise<Principal> {
  const read = readCredentials(request);
  if (read.kind === 'none') {
    throw new ApiError(401, 'unauthorized', 'send an API key: Authorization: Bearer <secret> (or <key>:<secret>), Basic, or x-api-key with merchant-id');
  }
  const address = addressBucket(request.ip);
  const claimed = read.kind === 'given' ? read.credentials.keyId : undefined;
  const keyId = claimed !== undefined && KEY_ID.test(claimed) ? claimed : undefined;
  const waitMs = Math.max(limits.address.waitMs(address), keyId === undefined ? 0 : limits.key.waitMs(keyId));
  if (waitMs > 0) {
    const retryAfterS = Math.ceil(waitMs / 1000);
    throw new ApiError(429, 'too_many_failed_authentications', `too many refused credentials from this address or for this key; retry in ${retryAfterS} s`,
      { retry_after_s: retryAfterS }, { 'retry-after': String(retryAfterS) });
  }
  const key = read.kind === 'given' ? await authenticate(db, read.credentials) : undefined;
  if (key === undefined) {
    limits.address.fail(address);
    if (keyId !== undefined) limits.key.fail(keyId);
    throw new ApiError(401, 'unauthorized', read.kind === 'malformed' ? read.message : 'the API key is unknown, revoked, or does not match the merchant');
  }
  if (key.ipAllow.length > 0 && !key.ipAllow.some((allowed) => comparableAddress(allowed) === comparableAddress(request.ip))) {
    throw new ApiError(403, 'ip_not_allowed', `requests from ${request.ip} are not allowed for this key`);
  }
  if (key.originAllow.length > 0) {
    const origin = request.headers.origin;
    if (origin === undefined || !key.originAllow.includes(origin)) {
      throw new ApiError(403, 'origin_not_allowed', `the Origin ${origin ?? '(none)'} is not allowed for this key`);
    }
  }
  return { merchantId: key.merchantId, keyId: key.keyId };
}

/**
 * An address in one form for allow-list checks: canonical text, and an IPv4-mapped IPv6 address as
 * its IPv4 (a server listening on :: sees IPv4 clients as ::ffff:a.b.c.d; keys list 1.2.3.4).
 */
export function comparableAddress(text: string): string {
  const canonical = canonicalAddress(text) ?? text;
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/.test(canonical) ? canonical.slice(7) : canonical;
}
