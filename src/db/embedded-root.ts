// Running the embedded Postgres as root: Postgres refuses to run as root, so its programs run as
// the `postgres` system user, which must be able to reach them and its data folder. A clone in a
// private folder (root's home, mode 700) reaches neither. Then the binaries are copied once per
// version to /var/lib/settle/postgres-<version>, and the cluster's data lives in
// /var/lib/settle/data-<hash of the configured folder>, with the configured folder (.settle/pg)
// a symbolic link to it — so the configuration, the password and owner files stay where they were.
// Where even that is impossible (a read-only /var/lib), the error says so in one sentence.

import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { NonRetryableError } from '../errors.ts';

/** Where root places what the postgres user must reach (root-owned, traversable by all), unless configured. */
export const SHARED_ROOT = '/var/lib/settle';

export interface RunAsIds {
  uid: number;
  gid: number;
}

/** True when a process running as `ids` can traverse every folder above `path` and `path` itself. */
export function reachableBy(path: string, ids: RunAsIds): boolean {
  let current = resolve(path);
  for (;;) {
    let mode: number;
    let uid: number;
    let gid: number;
    try {
      ({ mode, uid, gid } = statSync(current));
    } catch {
      return false;
    }
    const bit = uid === ids.uid ? 0o100 : gid === ids.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) return false;
    const parent = dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/** The folder of Postgres's programs (bin/, lib/, share/) the postgres user can run from. */
export function reachableNativeDir(nativeDir: string, version: string, ids: RunAsIds, logger: Logger, sharedRoot = SHARED_ROOT): string {
  if (reachableBy(join(nativeDir, 'bin', 'postgres'), ids)) return nativeDir;
  const target = join(sharedRoot, `postgres-${version}`);
  if (existsSync(join(target, 'bin', 'postgres'))) return target;
  logger.info({ from: nativeDir, to: target }, 'the postgres user cannot reach the embedded Postgres programs in this folder; copying them where it can');
  const partial = `${target}.partial-${process.pid}`;
  try {
    ensureSharedRoot(sharedRoot);
    // Copied whole (symbolic links kept), then renamed: a copy cut short is never used.
    cpSync(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    renameSync(partial, target);
  } catch (error) {
    if (existsSync(partial)) rmSync(partial, { recursive: true, force: true });
    throw unreachable(nativeDir, sharedRoot, error);
  }
  return target;
}

/**
 * The data folder to give Postgres for `dataDir`: `dataDir` itself when the postgres user can
 * reach its parent folder, else a folder under SHARED_ROOT that `dataDir` becomes a link to.
 */
export function reachableDataDir(dataDir: string, ids: RunAsIds, logger: Logger, sharedRoot = SHARED_ROOT): string {
  const configured = resolve(dataDir);
  if (isLink(configured)) return resolve(dirname(configured), readlinkSync(configured));
  if (reachableBy(dirname(configured), ids)) return configured;
  if (existsSync(join(configured, 'PG_VERSION'))) {
    throw new NonRetryableError(
      'embedded_postgres_unreachable',
      `the embedded Postgres cluster in ${configured} is in a folder the postgres user cannot reach; move the clone to a folder others can traverse, or set DATABASE_URL`,
      { dataDir: configured },
    );
  }
  const target = join(sharedRoot, `data-${createHash('sha256').update(configured).digest('hex').slice(0, 16)}`);
  try {
    ensureSharedRoot(sharedRoot);
    if (existsSync(target)) {
      // The link was deleted (.settle removed to start over): keep the old cluster aside, start anew.
      const aside = `${target}.old-${Date.now()}`;
      renameSync(target, aside);
      logger.warn({ dataDir: configured, kept: aside }, 'the link to the embedded Postgres data was removed; starting a new cluster (the old one is kept)');
    }
    mkdirSync(dirname(configured), { recursive: true });
    rmSync(configured, { recursive: true, force: true }); // an empty folder left by a failed first run
    symlinkSync(target, configured, 'dir');
  } catch (error) {
    throw unreachable(configured, sharedRoot, error);
  }
  logger.info({ dataDir: configured, target }, 'running as root in a folder the postgres user cannot reach: the cluster data lives in the link target');
  return target;
}

function ensureSharedRoot(sharedRoot: string): void {
  mkdirSync(sharedRoot, { recursive: true, mode: 0o755 });
  chmodSync(sharedRoot, 0o755);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function unreachable(path: string, sharedRoot: string, cause: unknown): NonRetryableError {
  return new NonRetryableError(
    'embedded_postgres_unreachable',
    `running as root, the embedded Postgres runs as the postgres user, which cannot reach ${path}, and it could not be placed under ${sharedRoot} (${(cause as Error).message}); move the clone to a folder others can traverse, or set DATABASE_URL`,
    { path },
    { cause },
  );
}
