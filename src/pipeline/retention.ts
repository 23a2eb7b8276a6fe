/**
 * Retention of every kind of file: received originals, result files (receipt, summary, errors) and generated
 * outbound files lose their bytes a number of days after they were made — the connection's setting, else the
 * account's for that kind, else the server's default. The records stay (Transfer, row counts, result file
 * rows, audit) and say the content expired. Each record is cleared first, then the bytes removed, so a crash
 * in between leaves unreferenced bytes (removed by nobody, harmless) rather than a record pointing at nothing.
 *
 * Each connection's oldest stored files are read from a partial index (connection_id, created_at WHERE
 * store_key IS NOT NULL): the cost is that of what is due, never of the history kept.
 *
 * Audit events have a retention too (a year by default): deleted oldest first, in batches.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.js";
import type { RetentionDefaults } from "../domain/connections.js";
import type { FileStore } from "./store.js";
import { SWEEP_DEFAULTS, sweepStore } from "./sweep.js";

/** Expires up to `limit` files of each kind that are due at `now`; returns how many of each. */
export async function expireFiles(
  db: Kysely<Database>,
  store: FileStore,
  defaults: RetentionDefaults,
  now: Date = new Date(),
  limit = 1000,
): Promise<{ inbound: number; results: number; outbound: number }> {
  const expired = { inbound: 0, results: 0, outbound: 0 };
  for (const direction of ["inbound", "outbound"] as const) {
    const account =
      direction === "inbound" ? sql.ref("a.inbound_retention_days") : sql.ref("a.outbound_retention_days");
    // A received file still waiting for (or in) processing keeps its bytes whatever its age.
    const { rows } = await sql<{ id: string; store_key: string }>`
      SELECT t.id, t.store_key
      FROM connections c JOIN accounts a ON a.id = c.account_id
      CROSS JOIN LATERAL (
        SELECT id, store_key FROM transfers t
        WHERE t.connection_id = c.id AND t.store_key IS NOT NULL
          AND t.created_at < ${now}::timestamptz
            - make_interval(days => coalesce(c.retention_days, ${account}, ${defaults[direction]}::int))
          AND t.status NOT IN ('received', 'processing')
        ORDER BY t.created_at LIMIT ${limit}) t
      WHERE c.direction = ${direction}
      LIMIT ${limit}`.execute(db);
    expired[direction] = await clearThenRemove(db, store, "transfers", rows);
  }
  const { rows } = await sql<{ id: string; store_key: string }>`
    SELECT r.id, r.store_key
    FROM connections c JOIN accounts a ON a.id = c.account_id
    CROSS JOIN LATERAL (
      SELECT id, store_key FROM result_files r
      WHERE r.connection_id = c.id AND r.store_key IS NOT NULL
        AND r.created_at < ${now}::timestamptz
          - make_interval(days => coalesce(c.result_retention_days, a.result_retention_days, ${defaults.results}::int))
      ORDER BY r.created_at LIMIT ${limit}) r
    WHERE c.direction = 'inbound'
    LIMIT ${limit}`.execute(db);
  expired.results = await clearThenRemove(db, store, "result_files", rows);
  return expired;
}

/**
 * Clears each due file's store key (unless another process already did), then removes its bytes; returns
 * how many it expired. Reprocessing attempts share their original's bytes (migration 018): an original is
 * cleared only once no attempt holds them (until then it stays, and keeps counting them), an attempt at any
 * time, and the bytes go once no transfer holds them.
 */
async function clearThenRemove(
  db: Kysely<Database>,
  store: FileStore,
  table: "transfers" | "result_files",
  due: { id: string; store_key: string }[],
): Promise<number> {
  let expired = 0;
  const touched = table === "transfers" ? sql`, updated_at = now()` : sql``;
  const shared = (id: string, key: string) =>
    table === "transfers"
      ? sql`AND (reprocess_of IS NOT NULL
                 OR NOT EXISTS (SELECT 1 FROM transfers o WHERE o.store_key = ${key} AND o.id <> ${id}))`
      : sql``;
  for (const f of due) {
    const cleared = await sql`
      UPDATE ${sql.table(table)} SET store_key = NULL ${touched}
      WHERE id = ${f.id} AND store_key = ${f.store_key} ${shared(f.id, f.store_key)}`.execute(db);
    if (Number(cleared.numAffectedRows ?? 0) === 0) continue; // another process took it, or an attempt holds it
    if (table === "transfers") {
      const held = await sql`SELECT 1 FROM transfers WHERE store_key = ${f.store_key} LIMIT 1`.execute(db);
      if (held.rows.length > 0) continue; // its original still holds the bytes
    }
    await store.remove(f.store_key);
    expired++;
  }
  return expired;
}

/** Deletes up to `limit` audit events older than `days` at `now`; returns how many. */
export async function expireAuditEvents(
  db: Kysely<Database>,
  days: number,
  now: Date = new Date(),
  limit = 10_000,
): Promise<number> {
  const before = new Date(now.getTime() - days * 86_400_000);
  const result = await sql`
    DELETE FROM audit_events WHERE id IN (
      SELECT id FROM audit_events WHERE at < ${before} ORDER BY at LIMIT ${limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Every ten minutes, once across every process with the scheduler role (pg-boss's cron). */
export const RETENTION_CRON = "*/10 * * * *";

interface Log {
  info(o: object, m: string): void;
  error(o: object, m: string): void;
}

/** One round of retention: expires files and audit events, and sweeps store leftovers; failures are logged. */
export async function retentionPass(
  db: Kysely<Database>,
  store: FileStore,
  options: { retention: RetentionDefaults; auditRetentionDays: number },
  log: Log,
): Promise<void> {
  await Promise.all([
    expireFiles(db, store, options.retention).then(
      (n) =>
        n.inbound + n.results + n.outbound > 0 &&
        log.info({ component: "retention", ...n }, "expired files (their records stay)"),
      (err) => log.error({ component: "retention", err }, "retention failed"),
    ),
    expireAuditEvents(db, options.auditRetentionDays).then(
      (n) => n > 0 && log.info({ component: "retention", auditEvents: n }, "deleted old audit events"),
      (err) => log.error({ component: "retention", err }, "audit retention failed"),
    ),
    sweepStore(db, store, SWEEP_DEFAULTS).then(
      (s) => (s.uploads || s.objects) && log.info({ component: "sweep", ...s }, "removed store leftovers"),
      (err) => log.error({ component: "sweep", err }, "store sweep failed"),
    ),
  ]);
}
