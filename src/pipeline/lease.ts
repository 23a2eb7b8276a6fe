/**
 * Leases: a worker holds a session advisory lock on what it works on, on the very connection that does the
 * work. PostgreSQL drops it with the connection (crash, kill -9, lost node), which is how a dead worker is
 * told from a slow one (pipeline/worker.ts).
 */
import type pg from "pg";

const LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok";
const UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 0))";

/**
 * Runs `work` on a pool connection that holds the lease `key`; "busy" when another connection holds it. A
 * connection that failed is discarded, not returned to the pool.
 */
export async function withLease<T>(
  pool: pg.Pool,
  key: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T | "busy"> {
  const client = await pool.connect();
  let broken = false;
  try {
    if (!(await client.query(LOCK, [key])).rows[0].ok) return "busy";
    try {
      return await work(client);
    } finally {
      await client.query(UNLOCK, [key]);
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Whether nobody holds the lease `key` (taken and given back at once to find out). */
export async function leaseIsFree(pool: pg.Pool, key: string): Promise<boolean> {
  const client = await pool.connect();
  try {
    const free = (await client.query(LOCK, [key])).rows[0].ok as boolean;
    if (free) await client.query(UNLOCK, [key]);
    return free;
  } finally {
    client.release();
  }
}

/**
 * Runs `work` — of the account that owns row `id` of `table` (a transfer to process, a pull) — in one of that
 * account's `cap` slots for the kind of work: leases, so shared by every process and freed if one dies; or
 * answers "full" at once.
 */
export async function inAccountSlot<T>(
  pool: pg.Pool,
  of: { table: "transfers" | "pulls"; id: string },
  cap: number,
  work: () => Promise<T>,
): Promise<{ value: T } | "full"> {
  const kind = of.table === "pulls" ? "pull" : "processing";
  const { rows } = await pool.query<{ account_id: string }>(
    `SELECT account_id FROM ${of.table} WHERE id = $1`,
    [of.id],
  );
  const accountId = rows[0]?.account_id ?? "";
  for (let slot = 0; slot < cap; slot++) {
    const done = await withLease(pool, `ferry-account-${kind}:${accountId}:${slot}`, async () => ({
      value: await work(),
    }));
    if (done !== "busy") return done;
  }
  return "full";
}
