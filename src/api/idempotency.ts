// Idempotency keys on POST: the first response for (merchant, key) is stored with a hash of the
// request; the same key with the same request returns that response again, byte for byte (the
// body is serialized once and the same text is sent and stored), with another request it is a 409. Requests with the same key wait for each other (an advisory lock held on a
// dedicated connection), so two concurrent retries cannot both create an invoice.

import { createHash } from 'node:crypto';
import type { Sql } from '../db/client.ts';
import { ApiError } from './errors.ts';

const IDEMPOTENCY_LOCK_NAMESPACE = 0x5e77_1d3a;

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** What an idempotent POST answers: the body as the JSON text sent the first time. */
export interface IdempotentResponse {
  status: number;
  /** JSON text: send it as it is (Content-Type application/json), never re-serialize it. */
  bodyJson: string;
  replayed: boolean;
}

export function requestHash(method: string, path: string, body: unknown): Buffer {
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(body)}`).digest();
}

/** JSON with object keys sorted, so the same body sent with another key order is the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Runs `execute` once per (merchant, key); replays or refuses repeats. */
export async function withIdempotency(
  sql: Sql,
  merchantId: string,
  key: string,
  hash: Buffer,
  execute: () => Promise<StoredResponse>,
): Promise<IdempotentResponse> {
  if (key.length === 0 || key.length > 255) throw new ApiError(400, 'validation_failed', 'Idempotency-Key must be 1..255 characters', { fields: [{ field: 'headers.idempotency-key', message: 'length 1..255' }] });
  const connection = await sql.reserve();
  try {
    await connection`select pg_advisory_lock(${IDEMPOTENCY_LOCK_NAMESPACE}, hashtext(${`${merchantId}|${key}`}))`;
    try {
      const [existing] = await connection<{ request_sha256: Buffer; response_status: number; response_body: string }[]>`
        select request_sha256, response_status, response_body from idempotency_keys where merchant_id = ${merchantId} and key = ${key}`;
      if (existing !== undefined) {
        if (!existing.request_sha256.equals(hash)) {
          throw new ApiError(409, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request', { key });
        }
        return { status: existing.response_status, bodyJson: existing.response_body, replayed: true };
      }
      const response = await execute();
      const bodyJson = JSON.stringify(response.body ?? null);
      // Only outcomes are remembered; a failure the client may fix (a 4xx) or retry (a 5xx) is not.
      if (response.status < 400) {
        await connection`
          insert into idempotency_keys (merchant_id, key, request_sha256, response_status, response_body)
          values (${merchantId}, ${key}, ${hash}, ${response.status}, ${bodyJson})`;
      }
      return { status: response.status, bodyJson, replayed: false };
    } finally {
      await connection`select pg_advisory_unlock(${IDEMPOTENCY_LOCK_NAMESPACE}, hashtext(${`${merchantId}|${key}`}))`;
    }
  } finally {
    connection.release();
  }
}
