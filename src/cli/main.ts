// The `settle` command line. Exit codes: 0 success, 1 the command ran and found a problem (or
// failed at run time), 2 the command line or the configuration is wrong (usage is printed; a
// refused flag value gets one sentence naming the flag instead).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { loadConfig, type Config, type ConfigInput } from '../config.ts';
import { finishDemo, prepareDemo, readDemoState, demoStateFile, type PreparedDemo } from '../demo/demo.ts';
import { checkDemoInvoiceId, DemoPayError, payDemoInvoice } from '../demo/pay.ts';
import { createCommon, createLogger, type Common } from '../common.ts';
import { ConfigError, NonRetryableError, SettleError } from '../errors.ts';
import { startEngine, openDatabase } from '../main.ts';
import { migrate } from '../db/migrate.ts';
import { checkInvariants, formatViolations } from '../ledger/invariants.ts';
import { createApiKey, createMerchant, revokeApiKey } from '../merchants/merchants.ts';
import { ApiKeyIp, ApiKeyLabel, ApiKeyOrigin, MerchantId, MerchantName } from '../merchants/schemas.ts';
import { CallbackUrl, checkCallbackUrl, describeUrlProblem } from '../webhooks/ssrf.ts';
import { inspectBlockFile } from './inspect.ts';
import { exitWithParent, installSignalHandlers, shutdownAndExit } from './lifetime.ts';

export const USAGE = `Usage: settle <command> [options]

Commands:
  start                 run Settle: API, scanners, settlement, webhooks, /metrics
  migrate               apply pending database migrations and exit
  check                 verify the ledger invariants; exit 1 naming each broken one
  merchant create --name <name> [--id <id>] [--callback-url <url>]
                        create a merchant (prints its id and webhook secret)
  key create --merchant <id> [--label <text>] [--ip <addr>]... [--origin <url>]...
                        create an API key (the secret is shown once)
  key revoke --merchant <id> --key <pk_…>
                        revoke an API key
  inspect block --chain <btc|ltc|eth|bsc|polygon> <file> [<receipts.json>]
                        decode a block file and print it as JSON
  demo pay <invoice id> [amount]
                        pay a demo invoice from a funded account of the demo's dev chain
  help                  show this help

Options:
  -c, --config <file>   JSON config file (default: $SETTLE_CONFIG; without one, built-in defaults)
  -h, --help            show this help

Without a config file and chains, \`settle start\` runs the embedded demo: a dev chain (anvil)
with a test USDT, a demo merchant and key, and a webhook receiver that logs what it gets.

Environment: DATABASE_URL (otherwise an embedded Postgres in .settle/pg), PORT, LOG_LEVEL, SETTLE_CONFIG.`;

const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export class UsageError extends Error {}

/** A flag's value is refused: one sentence naming the flag, exit 2, no usage text to bury it. */
export class FlagError extends Error {}

interface Command {
  options?: ParseArgsConfig['options'];
  run(context: CommandContext): Promise<number>;
}

interface CommandContext {
  values: Record<string, unknown>;
  positionals: string[];
  config: (overrides?: ConfigInput) => Config;
  /** True when a config file was given (--config or SETTLE_CONFIG). */
  configured: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}

const commands: Record<string, Command> = {
  start: { run: runStart },
  migrate: { run: runMigrate },
  check: { options: { json: { type: 'boolean' } }, run: runCheck },
  merchant: { options: { name: { type: 'string' }, id: { type: 'string' }, 'callback-url': { type: 'string' } }, run: runMerchant },
  key: {
    options: { merchant: { type: 'string' }, label: { type: 'string' }, ip: { type: 'string', multiple: true }, origin: { type: 'string', multiple: true }, key: { type: 'string' } },
    run: runKey,
  },
  inspect: { options: { chain: { type: 'string' } }, run: runInspect },
  demo: { run: runDemo },
  help: { run: async ({ out }) => (out(USAGE), 0) },
};

/** Runs the CLI and returns the exit code (the caller exits; `start` keeps running until a signal). */
export async function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? err : out)(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    err(`settle: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...command.options }, strict: true, allowPositionals: true });
  } catch (error) {
    err(`settle ${name}: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help === true) {
    out(USAGE);
    return 0;
  }
  const file = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
  try {
    return await command.run({
      values: parsed.values,
      positionals: parsed.positionals,
      config: (overrides?: ConfigInput) => loadConfig({ file, overrides }),
      configured: file !== undefined || (process.env.SETTLE_CONFIG ?? '') !== '',
      out,
      err,
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`settle: ${error.message}`);
      return 2;
    }
    if (error instanceof SettleError) {
      // A refusal or an explained failure with its own sentence (no merchant m_…, the id exists
      // already, the embedded Postgres cannot run here): no stack trace.
      err(`settle ${name}: ${error.message}`);
      return 1;
    }
    if (error instanceof FlagError) {
      err(`settle ${name}: ${error.message}`);
      return 2;
    }
    if (error instanceof UsageError) {
      err(`settle ${name}: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
}

async function runStart({ config, configured, out }: CommandContext): Promise<number> {
  let settings = config();
  const demoMode = !configured && Object.keys(settings.chains).length === 0;
  const logger = createLogger(settings.log);
  logger.info({ pid: process.pid, demo: demoMode }, demoMode ? 'Settle is starting the embedded demo (no config file, no chains)' : 'Settle is starting');
  let demo: PreparedDemo | undefined;
  if (demoMode) {
    try {
      demo = await prepareDemo(settings.database.embedded.dataDir, logger);
    } catch (error) {
      logger.fatal({ err: error }, 'the demo could not start its dev chain');
      return 1;
    }
    settings = config(demo.configOverrides);
  }
  const common = createCommon(settings, { defaultMetrics: true, logger });
  const devChain = demo?.devChain;
  if (devChain !== undefined) common.shutdown.onShutdown('dev-chain', () => devChain.stop());
  installSignalHandlers(common);
  exitWithParent(common);
  try {
    const engine = await startEngine(common);
    if (demo !== undefined) out(await finishDemo(engine, common, demo));
  } catch (error) {
    if (error instanceof NonRetryableError) common.logger.fatal({ code: error.code }, `start-up failed: ${error.message}`);
    else common.logger.fatal({ err: error }, 'start-up failed');
    // Exit here, not by returning: what started before the failure must not keep the process up.
    return shutdownAndExit(common, 'start-up failed', 1);
  }
  common.logger.info('Settle is running; Ctrl-C (SIGINT) or SIGTERM stops it');
  // Keep running until a signal's shutdown exits the process.
  return new Promise<number>(() => {});
}

async function runMigrate({ config, out }: CommandContext): Promise<number> {
  const common = oneOffCommon(config());
  try {
    const database = await openDatabase(common, { applicationName: 'settle-migrate', oneOff: true });
    const { applied, current } = await migrate(database.sql, common.logger);
    out(applied.length === 0 ? `schema is current (version ${current})` : `applied ${applied.join(', ')} (version ${current})`);
    return 0;
  } finally {
    await common.shutdown.run('migrate done');
  }
}

async function runCheck({ config, values, out }: CommandContext): Promise<number> {
  const common = oneOffCommon(config());
  try {
    const database = await openDatabase(common, { applicationName: 'settle-check', oneOff: true });
    const [table] = await database.sql<{ exists: boolean }[]>`select to_regclass('transfers') is not null as exists`;
    if (table?.exists !== true) {
      out('the database has no ledger yet: run `settle migrate` (or `settle start`) first');
      return 1;
    }
    const violations = await checkInvariants(database.sql);
    if (values.json === true) {
      out(JSON.stringify({ ok: violations.length === 0, violations }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
    } else if (violations.length === 0) {
      out('ledger invariants hold');
    } else {
      out(`${violations.length} broken invariant(s):\n${formatViolations(violations)}`);
    }
    return violations.length === 0 ? 0 : 1;
  } finally {
    await common.shutdown.run('check done');
  }
}

function stringOption(values: Record<string, unknown>, name: string, required: true): string;
function stringOption(values: Record<string, unknown>, name: string, required?: false): string | undefined;
function stringOption(values: Record<string, unknown>, name: string, required = false): string | undefined {
  const value = values[name];
  if (typeof value === 'string' && value !== '') return value;
  if (required) throw new UsageError(`--${name} is required`);
  return undefined;
}

/** The flags parsed by `schema`, keyed by flag name; the first refused one is a FlagError naming it. */
function parseFlags<T extends z.ZodType>(schema: T, flags: Record<string, unknown>): z.output<T> {
  const parsed = schema.safeParse(flags);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const [flag, index] = issue.path;
  const given = flags[String(flag)];
  const value = typeof index === 'number' && Array.isArray(given) ? given[index] : given;
  throw new FlagError(`--${String(flag)} ${JSON.stringify(value)} is not valid: ${issue.message}`);
}

/** Opens the database (migrated) for a one-off command and closes it after. */
/** A common for one-off commands: their logs go to stderr, their results to stdout. */
function oneOffCommon(settings: Config): Common {
  // A one-off command's own output is what the user asked for; routine progress (connecting,
  // migrations) stays out of the way unless a more verbose level was asked for.
  const log = settings.log.level === 'info' ? { ...settings.log, level: 'warn' as const } : settings.log;
  return createCommon(settings, { logger: createLogger(log, process.stderr) });
}

async function withDatabase<T>(config: () => Config, name: string, fn: (common: Common, sql: import('../db/client.ts').Sql) => Promise<T>): Promise<T> {
  const common = oneOffCommon(config());
  try {
    const database = await openDatabase(common, { applicationName: `settle-${name}`, oneOff: true });
    await migrate(database.sql, common.logger);
    return await fn(common, database.sql);
  } finally {
    await common.shutdown.run(`${name} done`);
  }
}

async function runMerchant({ config, values, positionals, out }: CommandContext): Promise<number> {
  if (positionals[0] !== 'create') throw new UsageError('merchant: the subcommand is create');
  const flags = parseFlags(z.object({ name: MerchantName, id: MerchantId.optional(), 'callback-url': CallbackUrl.optional() }), {
    name: stringOption(values, 'name', true), id: stringOption(values, 'id'), 'callback-url': stringOption(values, 'callback-url'),
  });
  const callbackUrl = flags['callback-url'];
  // The same address rule as the API: a stored URL is called later with the merchant's secret.
  const problem = callbackUrl === undefined ? undefined : checkCallbackUrl(callbackUrl, config().webhooks.allowPrivateAddresses);
  if (problem !== undefined) throw new FlagError(`--callback-url ${JSON.stringify(callbackUrl)} is refused: ${describeUrlProblem(problem)}`);
  const merchant = await withDatabase(config, 'merchant', (common, sql) =>
    createMerchant(sql, common.random, { id: flags.id, name: flags.name, callbackUrl }));
  out(JSON.stringify({ id: merchant.id, name: merchant.name, webhook_secret: merchant.webhookSecret, callback_url: merchant.callbackUrl ?? null }, null, 2));
  return 0;
}

async function runKey({ config, values, positionals, out }: CommandContext): Promise<number> {
  const merchantId = stringOption(values, 'merchant', true);
  if (positionals[0] === 'create') {
    const flags = parseFlags(z.object({ merchant: MerchantId, label: ApiKeyLabel.optional(), ip: z.array(ApiKeyIp), origin: z.array(ApiKeyOrigin) }), {
      merchant: merchantId, label: stringOption(values, 'label'), ip: values.ip ?? [], origin: values.origin ?? [],
    });
    const key = await withDatabase(config, 'key', (common, sql) =>
      createApiKey(sql, common.random, flags.merchant, { label: flags.label, ipAllow: flags.ip, originAllow: flags.origin }));
    out(JSON.stringify({ merchant_id: key.merchantId, key_id: key.keyId, secret: key.secret, note: 'the secret is shown once; Settle stores only its hash' }, null, 2));
    return 0;
  }
  if (positionals[0] === 'revoke') {
    const keyId = stringOption(values, 'key', true);
    const revoked = await withDatabase(config, 'key', (_common, sql) => revokeApiKey(sql, merchantId, keyId));
    out(revoked ? `revoked ${keyId}` : `no active key ${keyId} for merchant ${merchantId}`);
    return revoked ? 0 : 1;
  }
  throw new UsageError('key: the subcommand is create or revoke');
}

async function runInspect({ values, positionals, out }: CommandContext): Promise<number> {
  if (positionals[0] !== 'block' || positionals[1] === undefined) throw new UsageError('inspect: use `inspect block --chain <chain> <file>`');
  const chain = stringOption(values, 'chain', true);
  out(JSON.stringify(await inspectBlockFile(chain, positionals[1], positionals[2])));
  return 0;
}

async function runDemo({ config, positionals, out, err }: CommandContext): Promise<number> {
  if (positionals[0] !== 'pay' || positionals[1] === undefined || positionals.length > 3) throw new UsageError('demo: use `demo pay <invoice id> [amount]`');
  const invoiceId = positionals[1];
  try {
    checkDemoInvoiceId(invoiceId);
    const state = readDemoState(demoStateFile(config().database.embedded.dataDir));
    if (state === undefined) throw new DemoPayError('the demo has not run yet: start it with `npm start` first', 1);
    const payment = await withDatabase(config, 'demo', (common, sql) => payDemoInvoice(sql, state, invoiceId, positionals[2], common.clock.nowMs()));
    out(`paid ${payment.amount} ${payment.asset} to ${payment.address} in transaction ${payment.txid}`);
    out(payment.effect);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // One sentence, not a stack trace: bad input is exit 2, anything else exit 1.
    err(`settle demo pay: ${(error as Error).message}`);
    return error instanceof DemoPayError ? error.exitCode : 1;
  }
}
