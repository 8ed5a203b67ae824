// One webhook attempt over HTTP(S): resolve the callback's host once, check every address (ssrf.ts),
// connect only to those, POST the signed body, and report the outcome as a class the merchant may
// read (`connection_refused`, `http_5xx`, `blocked_address`…) next to the exact detail, which only
// the operator's log gets: raw socket errors would tell a merchant which ports of our host are open.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { Socket } from 'node:net';
import { canonicalAddress } from './addresses.ts';
import { checkCallbackUrl, describeUrlProblem, pinnedLookup, resolveTarget, systemResolve, type Resolve } from './ssrf.ts';

const RESPONSE_BODY_KEPT_BYTES = 1_024;

export type DeliveryError =
  | 'invalid_url' | 'blocked_address' | 'dns_error' | 'timeout' | 'connection_refused' | 'connection_reset'
  | 'unreachable' | 'tls_error' | 'invalid_response' | 'network_error' | 'http_3xx' | 'http_4xx' | 'http_5xx';

export interface DeliveryResult {
  statusCode: number | undefined;
  latencyMs: number;
  /** The class of failure, what the deliveries API shows; undefined when the receiver answered 2xx. */
  error: DeliveryError | undefined;
  /** The exact failure (socket error, refused address), for the operator's log only. */
  detail: string | undefined;
  responseBody: string | undefined;
}

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Name resolution; the system's (DNS, /etc/hosts) unless a test gives its own. */
  resolve?: Resolve;
}

type Attempt = Omit<DeliveryResult, 'latencyMs'>;

export async function postWebhook(url: string, body: string, headers: Record<string, string>, options: PostOptions): Promise<DeliveryResult> {
  const started = performance.now();
  const attempt = await attemptDelivery(url, body, headers, options);
  return { ...attempt, latencyMs: Math.round(performance.now() - started) };
}

async function attemptDelivery(url: string, body: string, headers: Record<string, string>, options: PostOptions): Promise<Attempt> {
  // A URL stored before it was validated (an older CLI, a direct insert) is checked like a new one.
  const problem = checkCallbackUrl(url, true);
  if (problem !== undefined) return failed('invalid_url', describeUrlProblem(problem));
  const target = new URL(url);
  const resolved = await resolveTarget(target, options.allowPrivate, options.resolve ?? systemResolve, options.timeoutMs);
  if (!resolved.ok) return failed(resolved.error, resolved.detail);
  return send(target, body, headers, resolved.addresses, options.timeoutMs);
}

function send(target: URL, body: string, headers: Record<string, string>, addresses: LookupAddress[], timeoutMs: number): Promise<Attempt> {
  const checked = new Set(addresses.map((a) => canonicalAddress(a.address)));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      resolve(attempt);
    };
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body).toString() },
      lookup: pinnedLookup(addresses) as never,
      // A connection of its own: a pooled socket would be one this check did not see.
      agent: false,
      timeout: timeoutMs,
    }, (res) => {
      let kept = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (kept.length < RESPONSE_BODY_KEPT_BYTES) kept += chunk.slice(0, RESPONSE_BODY_KEPT_BYTES - kept.length);
      });
      res.on('end', () => {
        const error = statusClass(res.statusCode);
        finish({ statusCode: res.statusCode, error, detail: error === undefined ? undefined : `HTTP ${String(res.statusCode)}`, responseBody: kept });
      });
      res.on('error', (error: NodeJS.ErrnoException) => finish({ statusCode: res.statusCode, error: errorClass(error), detail: error.message, responseBody: kept }));
    });
    // The address connected to must be one that was checked (the pinned lookup guarantees it;
    // this is the assertion that nothing between us and the socket chose another).
    req.on('socket', (socket: Socket) => {
      const verify = () => {
        if (!checked.has(canonicalAddress(socket.remoteAddress ?? ''))) {
          req.destroy(Object.assign(new Error(`connected to ${String(socket.remoteAddress)}, not a checked address`), { code: 'EBLOCKEDADDRESS' }));
        }
      };
      if (socket.connecting) socket.once('connect', verify);
      else verify();
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) => finish({ statusCode: undefined, error: errorClass(error), detail: error.message, responseBody: undefined }));
    req.end(body);
  });
}

function failed(error: DeliveryError, detail: string): Attempt {
  return { statusCode: undefined, error, detail, responseBody: undefined };
}

/** Undefined for 2xx (delivered); otherwise the status's class. Redirects are not followed. */
export function statusClass(statusCode: number | undefined): DeliveryError | undefined {
  if (statusCode === undefined) return 'invalid_response';
  if (statusCode >= 200 && statusCode < 300) return undefined;
  if (statusCode >= 300 && statusCode < 400) return 'http_3xx';
  if (statusCode >= 400 && statusCode < 500) return 'http_4xx';
  if (statusCode >= 500 && statusCode < 600) return 'http_5xx';
  return 'invalid_response';
}

/** The class of a socket, DNS, TLS or HTTP parsing error. */
export function errorClass(error: NodeJS.ErrnoException): DeliveryError {
  const code = error.code ?? '';
  if (code === 'EBLOCKEDADDRESS') return 'blocked_address';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'connection_reset'; // incl. "socket hang up"
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'].includes(code)) return 'unreachable';
  if (code === 'ENOTFOUND' || code.startsWith('EAI_')) return 'dns_error';
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code === 'EPROTO' || /CERT|SIGNATURE|ISSUER/.test(code)) return 'tls_error';
  if (code.startsWith('HPE_')) return 'invalid_response';
  return 'network_error';
}
