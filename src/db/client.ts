// The Postgres client: postgres.js with `numeric` and `int8` parsed to bigint once, at the driver,
// so no amount or id ever passes through a JS number. Queries are tagged templates only.

import { connect, type Socket } from 'node:net';
import postgres from 'postgres';

export type Sql = postgres.Sql<{ bigint: bigint; numeric: bigint }>;
export type TransactionSql = postgres.TransactionSql<{ bigint: bigint; numeric: bigint }>;
/** Either the pool or a transaction: functions that only read or that run inside a caller's transaction take this. */
export type Queryable = Sql | TransactionSql;

const NUMERIC_OID = 1700;
const CONNECT_TIMEOUT_S = 10;

/** numeric values Settle stores are integers (base units); a fraction here is a bug, not data. */
function parseNumeric(text: string): bigint {
  if (text.includes('.')) {
    const [whole, fraction = ''] = text.split('.');
    if (/^0*$/.test(fraction)) return BigInt(whole as string);
    throw new TypeError(`numeric value ${text} has a fraction; cast it to text where fractions are expected`);
  }
  return BigInt(text);
}

export interface CreateSqlOptions {
  max?: number;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
  onnotice?: (notice: postgres.Notice) => void;
  /** Seconds a connection may sit idle before it is closed; 0 keeps it open. */
  idleTimeoutS?: number;
  /** Seconds after which a connection is replaced; 0 keeps it for good (a session holding a lock). */
  lifetimeS?: number;
  /** Called when one of the client's connections closes (its session, and any lock it held, ended). */
  onclose?: () => void;
}

export function createSql(url: string, options: CreateSqlOptions = {}): Sql {
  const settings = {
    max: options.max ?? 10,
    idle_timeout: options.idleTimeoutS ?? 30,
    ...(options.lifetimeS === undefined ? {} : { max_lifetime: options.lifetimeS }),
    ...(options.onclose === undefined ? {} : { onclose: options.onclose }),
    connect_timeout: CONNECT_TIMEOUT_S,
    onnotice: options.onnotice ?? (() => {}),
    connection: { application_name: options.applicationName ?? 'settle' },
    socket: noDelaySocket,
    types: {
      bigint: postgres.BigInt,
      numeric: {
        to: NUMERIC_OID,
        from: [NUMERIC_OID],
        serialize: (value: bigint | string | number) => value.toString(),
        parse: parseNumeric,
      },
    },
  };
  // `socket` is a documented postgres.js option its type declarations lack.
  return postgres(url, settings as typeof settings & postgres.Options<never>) as unknown as Sql;
}

/**
 * The socket postgres.js talks on, with Nagle's algorithm off. postgres.js leaves it on, so the
 * CopyDone that follows a COPY's data waits for the server's delayed ACK: ~90 ms added to every
 * COPY, which the ledger writer uses for every batch (measured: 90 ms → 2 ms per COPY).
 *
 * It is returned while still connecting, never awaited: postgres.js then attaches its own
 * `error` and `close` listeners and treats a refused, reset or timed-out connection exactly as
 * it treats its own socket (the attempt fails, the connection slot goes back to the pool).
 * Writes made before the connection is up are buffered by node. A socket function that throws
 * or rejects instead strands its slot in postgres.js's `connecting` queue for good (3.4.x), so
 * a few refused connections during an outage left the pool without connections forever.
 */
function noDelaySocket(options: { host: string[]; port: number[]; path?: string | false }): Socket {
  return options.path
    ? connect({ path: options.path })
    : connect({ host: options.host[0] as string, port: options.port[0] as number, noDelay: true });
}

/** Replaces the database name of a postgres:// URL. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The URL with its password hidden, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database url)';
  }
}
