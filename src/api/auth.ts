// API authentication, accepting the credential forms of the seed APIs and our own:
//   x-api-key: <secret>  (+ merchant-id / merchant_id: <merchant>)     Smart CloudPay
//   Authorization: Bearer <key>:<secret>                               CryptoPayment
//   Authorization: Basic base64(<key>:<secret>)                        SmartyPay (curl --user)
//   Authorization: Bearer <secret>                                     native
// Then the key's IP and Origin allow-lists. Failures are 401/403 in the one error shape.

import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../db/client.ts';
import { authenticate, type Credentials } from '../merchants/merchants.ts';
import { ApiError } from './errors.ts';

export interface Principal {
  merchantId: string;
  keyId: string;
}

export function readCredentials(request: FastifyRequest): Credentials | undefined {
  const header = (name: string): string | undefined => {
    const value = request.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const merchantId = header('merchant-id') ?? header('merchant_id');
  const authorization = header('authorization');
  if (authorization !== undefined) {
    const [scheme = '', value = ''] = authorization.trim().split(/\s+/, 2);
    if (/^bearer$/i.test(scheme) && value !== '') {
      const colon = value.indexOf(':');
      return colon > 0 ? { keyId: value.slice(0, colon), secret: value.slice(colon + 1), merchantId } : { secret: value, merchantId };
    }
    if (/^basic$/i.test(scheme) && value !== '') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { keyId: decoded.slice(0, colon), secret: decoded.slice(colon + 1), merchantId };
      return undefined;
    }
    return undefined;
  }
  const apiKey = header('x-api-key');
  if (apiKey !== undefined && apiKey !== '') return { secret: apiKey, merchantId };
  return undefined;
}

export async function authenticateRequest(db: Queryable, request: FastifyRequest): Promise<Principal> {
  const credentials = readCredentials(request);
  if (credentials === undefined) {
    throw new ApiError(401, 'unauthorized', 'send an API key: Authorization: Bearer <secret> (or <key>:<secret>), Basic, or x-api-key with merchant-id');
  }
  const key = await authenticate(db, credentials);
  if (key === undefined) throw new ApiError(401, 'unauthorized', 'the API key is unknown, revoked, or does not match the merchant');
  if (key.ipAllow.length > 0 && !key.ipAllow.includes(request.ip)) {
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
