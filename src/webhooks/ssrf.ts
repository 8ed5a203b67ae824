// The SSRF guard of callback URLs. A callback URL must be http(s) without credentials, and (unless
// `webhooks.allowPrivateAddresses` is set, for tests and the demo) its host must not be a
// special-purpose address (addresses.ts: loopback, private, link-local, documentation, the IPv6
// forms that carry one…) or a local name. Checked when a URL is accepted (API, CLI) and again at
// delivery, where the host is resolved once, every address it resolves to is checked, and the
// connection may use only those addresses (pinnedLookup): a name that answers 8.8.8.8 to the check
// and 127.0.0.1 to the connection gets nowhere. IP literals are checked the same way.

import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { z } from 'zod';
import { classifyAddress } from './addresses.ts';

export type UrlProblem = 'not_a_url' | 'scheme_not_allowed' | 'credentials_not_allowed' | 'private_address';

export const CALLBACK_URL_LENGTH_MAX = 2000;

// Names that resolve to the host itself or to its local network (RFC 6761 localhost, RFC 6762
// mDNS .local, ICANN's private .internal, RFC 8375 .home.arpa), refused before any DNS is asked.
const LOCAL_NAMES = ['localhost', 'local', 'internal', 'home.arpa'];

/**
 * A callback URL's form: at most 2000 characters, http(s), no credentials, no control characters.
 * Shared by the API and the CLI; whether its host may be private depends on the config, so that
 * part is `checkCallbackUrl(text, allowPrivate)` at the same boundary.
 */
export const CallbackUrl = z.string().max(CALLBACK_URL_LENGTH_MAX).superRefine((text, context) => {
  const problem = checkCallbackUrl(text, true);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: describeUrlProblem(problem) });
}).describe('http(s) URL that receives this invoice\'s webhooks; not a private, loopback or link-local address');

export function checkCallbackUrl(text: string, allowPrivate: boolean): UrlProblem | undefined {
  // The URL parser silently drops tabs and newlines; a URL that needs that is not one we store.
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'not_a_url';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not_a_url';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'scheme_not_allowed';
  if (url.username !== '' || url.password !== '') return 'credentials_not_allowed';
  if (!allowPrivate && blockedHost(url.hostname) !== undefined) return 'private_address';
  return undefined;
}

export function describeUrlProblem(problem: UrlProblem): string {
  switch (problem) {
    case 'private_address': return 'callback URLs may not point at private, loopback, link-local or other special-purpose addresses';
    case 'scheme_not_allowed': return 'callback URLs must be http:// or https://';
    case 'credentials_not_allowed': return 'callback URLs may not carry credentials';
    case 'not_a_url': return 'not a URL';
  }
}

/**
 * Why a URL's host (as `URL.hostname` gives it: IPv6 in brackets, IPv4 already normalised from
 * hex, octal and short forms) may not be called, or undefined when it may be (a public address,
 * or a name whose addresses are checked at delivery).
 */
export function blockedHost(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const found = classifyAddress(bare);
  if (found !== undefined) return found.range;
  // "localhost." is the same name as "localhost": DNS names may end in the root's empty label.
  const name = bare.toLowerCase().replace(/\.$/, '');
  if (LOCAL_NAMES.some((local) => name === local || name.endsWith(`.${local}`))) return `${name} is a local name`;
  return undefined;
}

/** Resolves a host name to every address it has (DNS, /etc/hosts); tests pass their own. */
export type Resolve = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export type TargetOutcome =
  | { ok: true; addresses: LookupAddress[] }
  | { ok: false; error: 'blocked_address' | 'dns_error' | 'timeout'; detail: string };

/**
 * The addresses a delivery to `url` may connect to: the literal, or what the name resolves to,
 * resolved once. Refused when any of them is special-purpose (unless private ones are allowed).
 */
export async function resolveTarget(url: URL, allowPrivate: boolean, resolve: Resolve, timeoutMs: number): Promise<TargetOutcome> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const literal = classifyAddress(host);
  let addresses: LookupAddress[];
  if (literal !== undefined) {
    addresses = [{ address: literal.address, family: literal.version }];
  } else {
    const named = allowPrivate ? undefined : blockedHost(host);
    if (named !== undefined) return { ok: false, error: 'blocked_address', detail: named };
    const answer = await withTimeout(resolve(host), timeoutMs);
    if (answer === 'timeout') return { ok: false, error: 'timeout', detail: `resolving ${host} took over ${timeoutMs} ms` };
    if (answer instanceof Error) return { ok: false, error: 'dns_error', detail: `resolving ${host}: ${answer.message}` };
    if (answer.length === 0) return { ok: false, error: 'dns_error', detail: `${host} has no addresses` };
    addresses = answer;
  }
  if (allowPrivate) return { ok: true, addresses };
  for (const { address } of addresses) {
    const found = classifyAddress(address);
    const range = found === undefined ? 'not an IP address' : found.range;
    if (range !== undefined) return { ok: false, error: 'blocked_address', detail: `${host} is ${address}: ${range}` };
  }
  return { ok: true, addresses };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request that answers only with the checked addresses, so the socket
 * connects to exactly what resolveTarget allowed, and never asks DNS a second time.
 */
export function pinnedLookup(addresses: readonly LookupAddress[]) {
  return (hostname: string, options: { all?: boolean; family?: number | string }, callback: LookupCallback): void => {
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : undefined;
    const usable = addresses.filter((a) => family === undefined || a.family === family);
    const first = usable[0];
    if (first === undefined) {
      callback(Object.assign(new Error(`${hostname}: no checked address of family ${String(family)}`), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all === true) {
      callback(null, usable);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | Error | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([promise.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))), expired]);
  } finally {
    clearTimeout(timer);
  }
}
