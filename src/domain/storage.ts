/**
 * What the store holds per connection and kind of file (inbound, staged, results, outbound): storage_use,
 * plus the changes triggers appended since it was last folded (storage_changes, 013_history.sql). Reading
 * either costs a few rows however long an account's history.
 */
import { type Expression, type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.js";

/** Every minute, once across every process with the scheduler role, the appended changes are folded into storage_use. */
export const COMPACT_STORAGE_CRON = "* * * * *";

/** Bytes of the given kinds an account's files take, in SQL: of an account id or a column (`accounts.id`). */
export const accountBytes = (account: string | Expression<string>, kinds: readonly string[]) => sql<string>`(
  coalesce((SELECT sum(bytes) FROM storage_use WHERE account_id = ${account} AND kind IN (${sql.join(kinds)})), 0)
  + coalesce((SELECT sum(bytes) FROM storage_changes WHERE account_id = ${account} AND kind IN (${sql.join(kinds)})), 0))`;

/** A connection's files and bytes per kind, in SQL, as a JSON object { kind: [files, bytes] } (or null). */
export const connectionStorage = (connection: Expression<string>) => sql<Record<
  string,
  [number, number]
> | null>`(
  SELECT json_object_agg(kind, json_build_array(files, bytes)) FROM (
    SELECT kind, sum(files) AS files, sum(bytes) AS bytes FROM (
      SELECT kind, files, bytes FROM storage_use WHERE connection_id = ${connection}
      UNION ALL SELECT kind, files, bytes FROM storage_changes WHERE connection_id = ${connection}) u
    GROUP BY kind) s)`;

/**
 * Folds the appended changes into storage_use; returns how many were folded. Safe in several processes at
 * once: each change is deleted (and counted) by exactly one of them.
 */
export async function compactStorage(db: Kysely<Database>): Promise<number> {
  const r = await sql<{ n: string }>`
    WITH moved AS (
      DELETE FROM storage_changes WHERE id IN (SELECT id FROM storage_changes ORDER BY id LIMIT 100000)
      RETURNING account_id, connection_id, kind, files, bytes
    ), folded AS (
      INSERT INTO storage_use AS s (account_id, connection_id, kind, files, bytes)
      SELECT account_id, connection_id, kind, sum(files), sum(bytes) FROM moved
      GROUP BY account_id, connection_id, kind
      ON CONFLICT (connection_id, kind)
        DO UPDATE SET files = s.files + excluded.files, bytes = s.bytes + excluded.bytes
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved) AS n`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}
