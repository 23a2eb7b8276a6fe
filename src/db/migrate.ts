/** Applies the numbered SQL files in migrations/ in order, once each, safely from several processes at once. */

import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import type pg from "pg";
import { messageOf } from "../thrown.js";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);

/** One migration file. */
export interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

/** What happened to one migration in a run. */
export interface MigrationResult {
  id: number;
  name: string;
  status: "applied" | "already_applied";
}

/** Reads migrations/NNN_name.sql, sorted by number. */
export async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql")).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d+)_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`Migration file name must be NNN_name.sql: ${file}`);
    const sql = await readFile(new URL(file, MIGRATIONS_DIR), "utf8");
    const checksum = createHash("sha256").update(sql).digest("hex");
    migrations.push({ id: Number(match[1]), name: match[2]!, sql, checksum });
  }
  return migrations;
}

/**
 * Brings the database (the pool's search_path schema) to the latest migration. A session-level advisory lock,
 * keyed by schema, makes concurrent runs wait for each other; each migration commits in its own transaction
 * together with its row in ferry_migrations. A changed file that was already applied is an error, not a re-run.
 */
export async function migrate(pool: pg.Pool): Promise<MigrationResult[]> {
  const migrations = await loadMigrations();
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('ferry.migrate.' || current_schema()))");
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS ferry_migrations (
        id integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
      const applied = new Map(
        (
          await client.query<{ id: number; checksum: string }>("SELECT id, checksum FROM ferry_migrations")
        ).rows.map((r) => [r.id, r.checksum]),
      );
      const results: MigrationResult[] = [];
      for (const m of migrations) {
        const done = applied.get(m.id);
        if (done !== undefined) {
          if (done !== m.checksum) {
            throw new Error(
              `Migration ${m.id}_${m.name} was changed after it was applied; add a new migration instead`,
            );
          }
          results.push({ id: m.id, name: m.name, status: "already_applied" });
          continue;
        }
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query("INSERT INTO ferry_migrations (id, name, checksum) VALUES ($1, $2, $3)", [
            m.id,
            m.name,
            m.checksum,
          ]);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK");
          throw new Error(`Migration ${m.id}_${m.name} failed: ${messageOf(err)}`, { cause: err });
        }
        results.push({ id: m.id, name: m.name, status: "applied" });
      }
      return results;
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext('ferry.migrate.' || current_schema()))");
    }
  } finally {
    client.release();
  }
}
