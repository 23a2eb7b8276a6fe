/** The database handle every part shares: one pg pool and a Kysely over it, optionally bound to a schema. */
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";

export type Db = Kysely<Database>;

// int8 (bigint: file sizes, counts) as a JS number: exact up to 2^53 bytes, far beyond any file.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface DbHandle {
  pool: pg.Pool;
  db: Db;
  /** Closes the pool. */
  close(): Promise<void>;
}

/**
 * Opens a pool on `url`. With `schema`, every connection's search_path is that schema, which is how tests get
 * an isolated database each (and how an operator can run Ferry inside a schema of a shared database).
 */
export function openDb(url: string, options: { schema?: string; max?: number } = {}): DbHandle {
  const pool = new pg.Pool({
    connectionString: url,
    // Leases hold a connection for the length of their work (a file processed, a pull, and each account's slot
    // around them: up to 2 × FERRY_WORKERS + 2 × FERRY_PULL_WORKERS), and the servers need theirs beside.
    max: options.max ?? 20,
    ...(options.schema ? { options: `-c search_path=${checkSchemaName(options.schema)}` } : {}),
  });
  // An idle client that loses its server (restart, network) must not crash the process; pg re-connects.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    pool,
    db,
    // Kysely ends the pool only if it ever ran a query; migrations use the pool directly, so end it here too.
    close: async () => {
      await db.destroy();
      if (!pool.ended) await pool.end();
    },
  };
}

/** A schema name safe to pass in connection options unquoted. */
export function checkSchemaName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Bad schema name: ${name}`);
  return name;
}

/** Errors that mean PostgreSQL cannot be reached or is restarting (a temporary failure, not the client's). */
const UNAVAILABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "57P01",
  "57P02",
  "57P03",
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  return (
    (e.code !== undefined && UNAVAILABLE.has(e.code)) ||
    /Connection terminated|connection timeout/i.test(e.message ?? "")
  );
}

/** Runs `fn` in a transaction on one of the pool's clients: committed when it returns, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
