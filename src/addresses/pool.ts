// The pre-derived deposit address pool. Addresses are derived from an extended public key ahead
// of use (`lookAhead` free ones at all times), stored in Postgres, and loaded into the scanners'
// address indexes before anyone can be given one. Handing one out is a single UPDATE … SKIP
// LOCKED of the lowest free index: it never waits for derivation, and an address is never given
// twice. Chains that share a key (ETH, BSC, Polygon) share its indexes.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Queryable, Sql } from '../db/client.ts';
import { RetryableError, assert } from '../errors.ts';

export interface DerivedAddress {
  address: string;
  /** The bytes the chain's AddressIndex matches. */
  key: Uint8Array;
}

export interface Deriver {
  derive(index: number): DerivedAddress;
}

export interface AddressKeySpec {
  /** Stable id of (family, network, script type, xpub): see addressKeyId(). */
  id: string;
  family: 'utxo' | 'evm' | 'tron';
  description: string;
  deriver: Deriver;
  lookAhead: number;
}

export interface AssignedAddress {
  id: bigint;
  keyId: string;
  derivationIndex: number;
  address: string;
  indexKey: Uint8Array;
}

/** Derivations per chunk before yielding to the event loop: keeps the API responsive. */
const DERIVE_CHUNK = 200;

export function addressKeyId(family: string, ...parts: string[]): string {
  return `${family}:${createHash('sha256').update([family, ...parts].join('\u0000')).digest('hex').slice(0, 24)}`;
}

export interface AddressPool {
  /** Derives until `lookAhead` free addresses exist; returns how many were derived. */
  refill(spec: AddressKeySpec): Promise<number>;
  /** Hands out the next free address of the key, inside the caller's transaction when given. */
  assign(spec: AddressKeySpec, assignment: { chain: string; owner?: string; reference?: string }, db?: Queryable): Promise<AssignedAddress>;
}

export function createAddressPool(sql: Sql, logger: Logger): AddressPool {
  const refilling = new Map<string, Promise<number>>();

  async function deriveMore(spec: AddressKeySpec): Promise<number> {
    await sql`
      insert into address_keys (id, family, description) values (${spec.id}, ${spec.family}, ${spec.description})
      on conflict (id) do nothing`;
    const [counts] = await sql<{ derived: number; free: bigint }[]>`
      select k.derived_count as derived,
             (select count(*) from addresses a where a.key_id = k.id and a.assigned_at is null) as free
      from address_keys k where k.id = ${spec.id}`;
    assert(counts !== undefined, 'the address key row exists');
    const missing = spec.lookAhead - Number(counts.free);
    if (missing <= 0) return 0;
    let next = counts.derived;
    const end = counts.derived + missing;
    while (next < end) {
      const chunkEnd = Math.min(end, next + DERIVE_CHUNK);
      const indexes: number[] = [];
      const addresses: string[] = [];
      const keys: string[] = [];
      for (let i = next; i < chunkEnd; i++) {
        const derived = spec.deriver.derive(i);
        indexes.push(i);
        addresses.push(derived.address);
        keys.push(Buffer.from(derived.key).toString('hex'));
      }
      await sql.begin(async (tx) => {
        await tx`
          insert into addresses (key_id, derivation_index, address, index_key)
          select ${spec.id}, i, a, decode(k, 'hex') from unnest(${indexes}::int[], ${addresses}::text[], ${keys}::text[]) as d (i, a, k)
          on conflict (key_id, derivation_index) do nothing`;
        await tx`update address_keys set derived_count = greatest(derived_count, ${chunkEnd}) where id = ${spec.id}`;
      });
      next = chunkEnd;
      await new Promise((resolve) => setImmediate(resolve));
    }
    logger.info({ key: spec.description, derived: missing, through: end - 1 }, 'derived deposit addresses ahead of use');
    return missing;
  }

  function refill(spec: AddressKeySpec): Promise<number> {
    // One refill per key at a time in this process; another process racing is harmless (inserts are idempotent).
    const running = refilling.get(spec.id);
    if (running !== undefined) return running;
    const promise = deriveMore(spec).finally(() => refilling.delete(spec.id));
    refilling.set(spec.id, promise);
    return promise;
  }

  return {
    refill,
    async assign(spec, assignment, db = sql) {
      const rows = await db<{ id: bigint; derivation_index: number; address: string; index_key: Buffer }[]>`
        update addresses set assigned_at = now(), assigned_chain = ${assignment.chain},
          owner = ${assignment.owner ?? null}, reference = ${assignment.reference ?? null}
        where id = (
          select id from addresses where key_id = ${spec.id} and assigned_at is null
          order by derivation_index limit 1 for update skip locked)
        returning id, derivation_index, address, index_key`;
      // Keep the pool topped up in the background; the caller never waits for derivation.
      void refill(spec).catch((error: unknown) => logger.error({ err: error, key: spec.description }, 'address refill failed'));
      const row = rows[0];
      if (row === undefined) {
        throw new RetryableError('address_pool_exhausted', `no free deposit address for ${spec.description}; more are being derived`, { key: spec.id });
      }
      return { id: row.id, keyId: spec.id, derivationIndex: row.derivation_index, address: row.address, indexKey: new Uint8Array(row.index_key) };
    },
  };
}

/** Addresses of the keys with id greater than `afterId`, for loading into an index. Bounded per call. */
export async function selectAddressKeysAfter(db: Queryable, keyIds: string[], afterId: bigint, limit = 50_000): Promise<Array<{ id: bigint; indexKey: Uint8Array }>> {
  const rows = await db<{ id: bigint; index_key: Buffer }[]>`
    select id, index_key from addresses where key_id = any(${keyIds}::text[]) and id > ${afterId.toString()}::int8
    order by id limit ${limit}`;
  return rows.map((r) => ({ id: r.id, indexKey: new Uint8Array(r.index_key) }));
}
