// The only reader of the environment and of the config file. Everything else receives the
// parsed, typed `Config` through `common`. An invalid config is reported field by field and
// start-up stops (exit code 2): Settle never runs on a configuration it had to guess about.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const port = z.number().int().min(0).max(65535);

const HttpSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8080),
  bodyLimitBytes: z.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
  /** A request's headers must arrive within this; else 408 and the connection is closed. */
  headersTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
  /** A whole request (headers and body) must arrive within this; else 408 and the connection is closed. */
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  /** An idle keep-alive connection is closed after this (keep it above a proxy's idle timeout). */
  keepAliveTimeoutMs: z.number().int().min(100).max(600_000).default(72_000),
  /** A connection silent for this long is closed, whatever it is doing; 0 turns it off. */
  connectionTimeoutMs: z.number().int().min(0).max(3_600_000).default(120_000),
  /** Failed authentications (credentials sent and refused) before 429, per client address and per key id. */
  authFailures: z
    .strictObject({
      /** Failures one client address (an IPv6 client: its /64) may make in a burst… */
      addressBurst: z.number().int().min(1).max(1_000_000).default(20),
      /** …and then this many per minute. */
      addressPerMinute: z.number().int().min(1).max(1_000_000).default(10),
      /** Failures against one key id (pk_…, from any address) in a burst… */
      keyBurst: z.number().int().min(1).max(1_000_000).default(50),
      /** …and then this many per minute. */
      keyPerMinute: z.number().int().min(1).max(1_000_000).default(30),
      /** Addresses and key ids tracked at once (each kind); past it the least recently failed are forgotten. */
      trackedMax: z.number().int().min(100).max(10_000_000).default(10_000),
    })
    .prefault({}),
}).refine((h) => h.headersTimeoutMs <= h.requestTimeoutMs, { message: 'headersTimeoutMs may not exceed requestTimeoutMs', path: ['headersTimeoutMs'] });

const DatabaseSchema = z.strictObject({
  /** postgres://… ; when absent Settle runs its embedded Postgres. */
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  poolMax: z.number().int().min(2).max(200).default(10),
  /** The longest an API request or /health waits on the database; past it the answer is 503 with Retry-After. */
  requestTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  embedded: z
    .strictObject({
      dataDir: z.string().min(1).default('.settle/pg'),
      /** 0 picks a free port. */
      port: port.default(0),
      /** Run as root, Postgres runs as the `postgres` user; when it cannot reach the binaries or
       * dataDir (a clone in a private folder), they are placed here. */
      rootSharedDir: z.string().min(1).default('/var/lib/settle'),
    })
    .prefault({}),
});

const LogSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Human-readable lines instead of JSON; defaults to on when stdout is a terminal. */
  pretty: z.boolean().optional(),
});

const hex20 = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const ledgerCode = z.string().regex(/^[A-Z0-9][A-Z0-9_.-]{0,31}$/, 'must be upper-case letters, digits, . _ - (e.g. USDT-TRC20)');
const url = z.string().regex(/^https?:\/\//, 'must be an http:// or https:// URL');

/** Settings every chain has; the defaults suit a chain with ~10 minute blocks and are tightened per chain in its config. */
const chainBase = {
  enabled: z.boolean().default(true),
  /** Confirmations (tip − height + 1) a payment needs before it is posted. */
  confirmations: z.number().int().min(1).max(10_000).default(6),
  /** The deepest reorg Settle follows; past it the chain's scanner halts loudly. */
  reorgDepthMax: z.number().int().min(1).max(10_000).default(100),
  pollIntervalMs: z.number().int().min(50).max(600_000).default(5_000),
  /** Blocks fetched and decoded ahead of the one being applied. */
  prefetchBlocksMax: z.number().int().min(1).max(10_000).default(32),
  /** Blocks per database transaction while catching up (one per block at the tip). */
  batchBlocksMax: z.number().int().min(1).max(10_000).default(100),
  /** Height to start from on the very first run; the default is the chain head at that time. */
  startHeight: z.number().int().min(0).optional(),
  /** Extended public key deposit addresses are derived from. */
  xpub: z.string().min(4).optional(),
  /** Addresses derived and watched ahead of use. */
  addressLookAhead: z.number().int().min(1).max(1_000_000).default(1_000),
  rpcTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  rpcAttemptsMax: z.number().int().min(1).max(100).default(5),
};

const TokenSchema = z.strictObject({
  /** Ledger code of the asset, e.g. USDT-ERC20. */
  code: ledgerCode,
  symbol: z.string().min(1).max(16),
  contract: z.string().min(1),
  decimals: z.number().int().min(0).max(36),
  confirmations: z.number().int().min(1).max(10_000).optional(),
});

const NativeAssetSchema = z.strictObject({
  code: ledgerCode,
  symbol: z.string().min(1).max(16),
  decimals: z.number().int().min(0).max(36),
  confirmations: z.number().int().min(1).max(10_000).optional(),
});

const UtxoChainSchema = z.strictObject({
  family: z.literal('utxo'),
  coin: z.enum(['btc', 'ltc']),
  network: z.enum(['mainnet', 'testnet', 'regtest']).default('mainnet'),
  native: NativeAssetSchema.optional(),
  rpc: z.strictObject({
    url,
    user: z.string().optional(),
    password: z.string().optional(),
    /** Path of the node's .cookie file, read for credentials when user/password are not given. */
    cookieFile: z.string().optional(),
    /** Fetch blocks over REST (/rest/block/<hash>.bin) when the node has -rest=1. */
    rest: z.boolean().default(true),
  }),
  /** Script type of derived addresses; zpub/vpub imply p2wpkh, ypub/upub p2sh-p2wpkh. */
  scriptType: z.enum(['p2wpkh', 'p2sh-p2wpkh', 'p2pkh']).optional(),
  ...chainBase,
});

const EvmChainSchema = z.strictObject({
  family: z.literal('evm'),
  chainId: z.number().int().min(1),
  native: NativeAssetSchema,
  tokens: z.array(TokenSchema.extend({ contract: hex20 })).default([]),
  rpc: z.strictObject({
    url,
    /** Requests per JSON-RPC batch; 1 disables batching for providers that reject it. */
    batchMax: z.number().int().min(1).max(1_000).default(50),
    /** Blocks per eth_getLogs request before splitting on a provider's range limit. */
    logsBlockRangeMax: z.number().int().min(1).max(100_000).default(1_000),
  }),
  /** Use the node's `finalized` block tag; without it, blocks deeper than finalityDepth are final. */
  finalizedTag: z.boolean().default(true),
  finalityDepth: z.number().int().min(1).max(10_000).default(64),
  ...chainBase,
});

const TronChainSchema = z.strictObject({
  family: z.literal('tron'),
  /** mainnet and nile are checked against their genesis block at start-up; others need genesisBlockId to be checked. */
  network: z.enum(['mainnet', 'nile', 'shasta', 'private']).default('mainnet'),
  genesisBlockId: z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-digit lower-case hex block id').optional(),
  native: NativeAssetSchema.prefault({ code: 'TRX', symbol: 'TRX', decimals: 6 }),
  tokens: z.array(TokenSchema).default([]),
  rpc: z.strictObject({
    url,
    /** TronGrid API key, sent as TRON-PRO-API-KEY. */
    apiKey: z.string().optional(),
  }),
  ...chainBase,
  confirmations: z.number().int().min(1).max(10_000).default(19),
});

export const ChainSchema = z.discriminatedUnion('family', [UtxoChainSchema, EvmChainSchema, TronChainSchema]);
export type ChainConfig = z.infer<typeof ChainSchema>;
export type UtxoChainConfig = z.infer<typeof UtxoChainSchema>;
export type EvmChainConfig = z.infer<typeof EvmChainSchema>;
export type TronChainConfig = z.infer<typeof TronChainSchema>;

export const ConfigSchema = z.strictObject({
  http: HttpSchema.prefault({}),
  database: DatabaseSchema.prefault({}),
  log: LogSchema.prefault({}),
  /** Chains to scan, by name (btc, ltc, eth, bsc, polygon, tron, or any name of yours). */
  chains: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'chain names are lower-case letters, digits, _ and -'), ChainSchema).default({}),
  invoices: z
    .strictObject({
      expiryDefaultMinutes: z.number().int().min(1).max(7 * 24 * 60).default(30),
      expiryMaxMinutes: z.number().int().min(1).max(30 * 24 * 60).default(7 * 24 * 60),
      /** An invoice may ask for fewer or more confirmations than its asset's default, within these bounds. */
      confirmationsMin: z.number().int().min(1).default(1),
      confirmationsMax: z.number().int().min(1).default(1_000),
      metadataBytesMax: z.number().int().min(0).max(65_536).default(4_096),
      /** Base of checkout_url (e.g. https://pay.example.com); defaults to the server's own URL. */
      checkoutBaseUrl: url.optional(),
      /** How often expired invoices are looked for. */
      expiryCheckIntervalMs: z.number().int().min(100).max(600_000).default(5_000),
    })
    .prefault({}),
  prices: z
    .strictObject({
      /** USD price of one whole unit of each asset symbol, as exact decimal text (fixed-rate source). */
      fixed: z.record(z.string().min(1), z.string().regex(/^\d+(\.\d+)?$/, 'must be a decimal string like "1" or "65000.50"')).default({ USDT: '1' }),
      /**
       * Live rates for every symbol `fixed` does not name: the median of the public tickers that
       * answered within `maxAgeMs`. An empty provider list turns live rates off.
       */
      market: z
        .strictObject({
          providers: z
            .array(z.strictObject({ name: z.enum(['kraken', 'coinbase', 'bitstamp']), baseUrl: url.optional() }))
            .max(10)
            .default([{ name: 'kraken' }, { name: 'coinbase' }, { name: 'bitstamp' }]),
          maxAgeMs: z.number().int().min(1_000).max(3_600_000).default(120_000),
          refreshMs: z.number().int().min(100).max(3_600_000).default(15_000),
          timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
        })
        .refine((market) => market.refreshMs <= market.maxAgeMs, { message: 'refreshMs must not exceed maxAgeMs', path: ['refreshMs'] })
        .prefault({}),
    })
    .prefault({}),
  webhooks: z
    .strictObject({
      /** Delay before each retry, in seconds (the seeds' schedule: 1 min, 5 min, 15 min, 1 h, 6 h; then dead). */
      retryScheduleS: z.array(z.number().min(0).max(7 * 24 * 3600)).min(0).max(20).default([60, 300, 900, 3600, 21600]),
      timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
      /** Turn the callback address check off: loopback, private and other special-purpose addresses allowed (tests, the demo). */
      allowPrivateAddresses: z.boolean().default(false),
      concurrency: z.number().int().min(1).max(100).default(4),
      /** How often the webhook worker polls for due deliveries. */
      pollIntervalMs: z.number().int().min(100).max(60_000).default(1_000),
    })
    .prefault({}),
  scan: z
    .strictObject({
      /** Worker threads decoding blocks (shared by all chains). */
      workerThreads: z.number().int().min(1).max(64).default(2),
      /** Decode tasks queued beyond the running ones before fetchers wait. */
      workerQueueMax: z.number().int().min(1).max(10_000).default(64),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** The environment variables Settle reads, and nothing else. */
export interface ConfigEnvironment {
  SETTLE_CONFIG?: string | undefined;
  DATABASE_URL?: string | undefined;
  PORT?: string | undefined;
  LOG_LEVEL?: string | undefined;
}

export interface LoadConfigOptions {
  env?: ConfigEnvironment;
  /** A config file path given on the command line; wins over SETTLE_CONFIG. */
  file?: string | undefined;
  /** Values set by the caller (tests, the CLI); win over the file and the environment. */
  overrides?: ConfigInput;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? readEnvironment();
  const problems: string[] = [];
  const path = options.file ?? nonEmpty(env.SETTLE_CONFIG);
  let raw: Record<string, unknown> = {};
  if (path !== undefined) raw = readConfigFile(path, problems);

  if (nonEmpty(env.DATABASE_URL) !== undefined) setPath(raw, ['database', 'url'], env.DATABASE_URL);
  if (nonEmpty(env.LOG_LEVEL) !== undefined) setPath(raw, ['log', 'level'], env.LOG_LEVEL);
  const envPort = nonEmpty(env.PORT);
  if (envPort !== undefined) {
    if (/^\d{1,5}$/.test(envPort)) setPath(raw, ['http', 'port'], Number(envPort));
    else problems.push(`PORT (environment): must be an integer 0..65535, got ${JSON.stringify(envPort)}`);
  }
  if (options.overrides !== undefined) raw = mergeDeep(raw, options.overrides as Record<string, unknown>);

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      problems.push(`${where}: ${describeIssue(issue)}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

function readEnvironment(): ConfigEnvironment {
  const { SETTLE_CONFIG, DATABASE_URL, PORT, LOG_LEVEL } = process.env;
  return { SETTLE_CONFIG, DATABASE_URL, PORT, LOG_LEVEL };
}

function readConfigFile(path: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`config file ${path}: cannot be read (${(error as Error).message})`);
    return {};
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`config file ${path}: must hold a JSON object`);
      return {};
    }
    return value as Record<string, unknown>;
  } catch (error) {
    problems.push(`config file ${path}: is not valid JSON (${(error as Error).message})`);
    return {};
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (issue.code === 'invalid_key') return issue.issues.map((inner) => inner.message).join('; ');
  return issue.message;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function mergeDeep(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    const bothObjects =
      value !== null && typeof value === 'object' && !Array.isArray(value) &&
      current !== null && typeof current === 'object' && !Array.isArray(current);
    out[key] = bothObjects ? mergeDeep(current as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return out;
}
