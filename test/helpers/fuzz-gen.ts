// Generators for the API fuzz test (test/api/fuzz.test.ts): JSON values, request bodies, query
// values, header values and raw request pieces, all drawn from a seeded source so a run replays.
// The pools hold what has broken HTTP APIs before: NUL, lone surrogates, deep nesting, huge
// numbers, prototype keys, dates outside every range, odd URLs and framing.

export interface Pick {
  int(max: number): number;
  one<T>(items: readonly T[]): T;
}

const STRINGS = [
  '', ' ', 'a', 'ORD-001', '\u0000', 'a\u0000b', '\ud800', '\udc00x', 'x\ud83d', '😀', 'ü', 'x'.repeat(201), 'x'.repeat(5_000),
  '0', '-1', '1e308', '1e-7', 'NaN', 'Infinity', 'null', 'true', '12.50', '12.', '.5', '0.0000001', '1'.repeat(90), '0x10', ' 12 ',
  '<script>alert(1)</script>', "' or 1=1 --", '%00', '../../etc/passwd', '\r\n', '\t', '\u2028', '\ufeff',
  'http://127.0.0.1:1/x', 'https://shop.example/hook', 'javascript:alert(1)', 'http://[::ffff:127.0.0.1]/x', 'ftp://x', 'http://u:p@x.example/',
  '0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+200000-01-01T00:00:00Z', '-100000-01-01T00:00:00Z',
  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00+25:00', '2026-02-30T00:00:00Z', '2026-01-01', 'pending', 'paid', 'canceled',
  'USDT-ERC20', 'ETH', 'DOGE', '__proto__', 'constructor', 'prototype', 'toString',
];
const NUMBERS = [0, -0, 1, -1, 1.5, 2 ** 31, 2 ** 53 + 1, 1e308, -1e308, 123456789012345678901234567890, 0.1];
const KEYS = ['asset', 'amount', 'amount_usd', 'expires_in_minutes', 'expires_at', 'confirmations', 'order_id', 'callback_url', 'metadata', 'a', '', '__proto__', 'constructor', '\u0000', '\ud800', '😀'];
const DATES = ['0000-01-01T00:00:00.000Z', '-100000-01-01T00:00:00.000Z', '+200000-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'garbage', ''];

/** Percent-encoding that also encodes a lone surrogate (as the invalid UTF-8 of its code unit),
 * where encodeURIComponent throws. */
export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    const unit = char.codePointAt(0) as number;
    if (unit < 0xd800 || unit > 0xdfff) {
      out += encodeURIComponent(char);
      continue;
    }
    for (const byte of [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]) out += `%${byte.toString(16).toUpperCase()}`;
  }
  return out;
}

export class JsonGen {
  constructor(private readonly pick: Pick) {}

  text(): string {
    return this.pick.one(STRINGS);
  }

  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.pick.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }

  value(depth = 0): unknown {
    const roll = this.pick.int(depth > 3 ? 6 : 9);
    if (roll < 2) return this.text();
    if (roll < 4) return this.pick.one(NUMBERS);
    if (roll === 4) return this.pick.one([true, false]);
    if (roll === 5) return null;
    if (roll === 6) return Array.from({ length: this.pick.int(5) }, () => this.value(depth + 1));
    return Object.fromEntries(Array.from({ length: this.pick.int(5) }, () => [this.pick.one(KEYS), this.value(depth + 1)]));
  }

  /** A cursor as the API encodes it, around an odd instant. */
  cursor(): string {
    return Buffer.from(`${this.pick.one(DATES)}|${this.pick.int(2) === 0 ? this.uuid() : this.text()}`).toString('base64url');
  }

  queryValue(): string {
    const roll = this.pick.int(4);
    if (roll === 0) return this.cursor();
    if (roll === 1) return String(this.pick.one([...NUMBERS, 20, 100, 101]));
    return this.text();
  }

  /** A value node's HTTP client will send: tab, visible ASCII and Latin-1, nothing else. */
  headerValue(): string {
    const text = this.pick.int(10) === 0 ? 'v'.repeat(this.pick.one([300, 4_000])) : this.text();
    return text.replace(/[^\t\x20-\x7e\xa0-\xff]/g, '?').trim();
  }

  token(): string {
    return this.pick.one(['GET', 'get', 'G ET', 'CONNECT', 'TRACE', 'PRI', 'M-SEARCH', 'X'.repeat(100), '']);
  }

  rawPath(): string {
    return this.pick.one(['/v1/invoices/\u0001', '/ space', '/%', '/%zz', '/v1/invoices/%00', '/\u00ff', '*', 'http://fuzz/v1/assets', '//', `/${'a'.repeat(20_000)}`, '/pay/%E0%A4%A', '/v1/invoices?x=\u0000']);
  }

  rawHeader(): string {
    return this.pick.one([
      `X-Ctl: a\u0001b`, 'X-Nul: a\u0000b', 'NoColon', ': empty-name', 'X-Fold: a\r\n folded', `X-Big: ${'b'.repeat(20_000)}`,
      'Bad Name: x', 'X-Latin: \u00e9', 'Content-Type: application/json', 'Expect: 100-continue', 'Upgrade: websocket', 'Host: second',
    ]);
  }

  validInvoice(): Record<string, unknown> {
    const body: Record<string, unknown> = { asset: this.pick.one(['USDT-ERC20', 'ETH']) };
    if (this.pick.int(4) === 0) body.amount_usd = this.pick.one(['1', '25.50', '0.01']);
    else body.amount = this.pick.one(['1', '0.5', '12.345678', '100']);
    if (this.pick.int(2) === 0) body.order_id = `ORD-${this.pick.int(6)}`;
    if (this.pick.int(3) === 0) body.metadata = { cart: this.pick.int(100), note: this.pick.one(['', 'gift', 'ü 😀']) };
    if (this.pick.int(4) === 0) body.callback_url = this.pick.one(['https://shop.example/hook', 'http://127.0.0.1:1/hook']);
    if (this.pick.int(4) === 0) body.expires_in_minutes = this.pick.one([1, 30, 600]);
    if (this.pick.int(5) === 0) body.confirmations = this.pick.one([1, 3, 12]);
    return body;
  }

  /** The object with one field replaced by a random value, or removed, as JSON text. */
  mutate(body: Record<string, unknown>): string {
    const key = this.pick.one(KEYS);
    if (this.pick.int(5) === 0) delete body[key];
    else body[key] = this.value(1);
    return JSON.stringify(body);
  }

  body(): string {
    const roll = this.pick.int(12);
    if (roll < 4) return JSON.stringify(this.value());
    if (roll === 4) {
      const levels = this.pick.one([10, 63, 64, 65, 100, 5_000, 50_000]);
      return this.pick.int(2) === 0 ? '['.repeat(levels) + ']'.repeat(levels) : `{"asset":"ETH","amount":"1","metadata":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`;
    }
    if (roll === 5) return JSON.stringify(Array.from({ length: 5_000 }, () => 1));
    return this.pick.one([
      '', '{', '{"a":', 'null', '[]', '"x"', '1', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}',
      '{"asset":"ETH","amount":"1","metadata":{"k":"\\ud800"}}', '{"asset":"ETH","amount":"1","order_id":"\\u0000"}',
      '{"asset":"ETH","amount":"1","metadata":{"\\u0000":1}}', '{"asset":"ETH","amount":"1"}{"x":1}', '\ufeff{"asset":"ETH","amount":"1"}',
      '{"asset":"ETH","amount":"1","amount":"2"}', 'asset=ETH&amount=1',
    ]);
  }
}
