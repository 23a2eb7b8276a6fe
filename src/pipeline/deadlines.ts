/**
 * Expected files: an active inbound connection whose details say `expectFiles: { days, by }` should receive a
 * file on each of those weekdays by that local time (the account's time zone). Every minute (pg-boss's cron,
 * once across the scheduler processes) the deadlines that passed today without a file received since the
 * local midnight are recorded once each (deadline_misses) and raise a `file.missing` event and an audit
 * event. PostgreSQL does the time zones, daylight saving included.
 */
import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../db/schema.js";
import { systemActor } from "../domain/actor.js";
import { audit } from "../domain/audit.js";
import { emitEvent, sqlClientOf } from "./events.js";
import type { JobQueue } from "./jobs.js";

/** Records missed deadlines up to `now` (today's, in each account's zone) and raises their events once. */
export async function checkDeadlines(
  db: Kysely<Database>,
  queue: Pick<JobQueue, "enqueueWebhook" | "wake">,
  log: Logger,
  now: Date = new Date(),
): Promise<number> {
  const missed = await db.transaction().execute(async (trx) => {
    // Today's deadline of each expecting connection, as an instant: the local date at `now` plus `by`.
    const { rows } = await sql<{
      connection_id: string;
      account_id: string;
      name: string;
      due_at: Date;
      by: string;
    }>`WITH expecting AS (
         SELECT c.id, c.account_id, c.name, c.details->'expectFiles' AS expect, a.time_zone,
                (${now}::timestamptz AT TIME ZONE a.time_zone)::date AS local_day
         FROM connections c JOIN accounts a ON a.id = c.account_id
         WHERE c.direction = 'inbound' AND c.status = 'active' AND c.details ? 'expectFiles'
       ), due AS (
         SELECT id, account_id, name, expect->>'by' AS by, local_day, time_zone,
                ((local_day + (expect->>'by')::time) AT TIME ZONE time_zone) AS due_at
         FROM expecting
         WHERE expect->'days' ? lower(trim(to_char(local_day, 'FMDay')))
       ), inserted AS (
         INSERT INTO deadline_misses (connection_id, due_at, account_id)
         SELECT d.id, d.due_at, d.account_id FROM due d
         WHERE d.due_at <= ${now}::timestamptz
           AND NOT EXISTS (
             SELECT 1 FROM transfers t
             WHERE t.connection_id = d.id AND t.direction = 'inbound' AND t.reprocess_of IS NULL
               AND t.created_at >= (d.local_day::timestamp AT TIME ZONE d.time_zone)
               AND t.created_at < ${now}::timestamptz)
         ON CONFLICT DO NOTHING
         RETURNING connection_id, account_id, due_at)
       SELECT i.connection_id, i.account_id, i.due_at, d.name, d.by
       FROM inserted i JOIN due d ON d.id = i.connection_id`.execute(trx);
    for (const r of rows) {
      const dueAt = new Date(r.due_at).toISOString();
      await emitEvent(sqlClientOf(trx), queue, r.account_id, "file.missing", {
        connectionId: r.connection_id,
        connectionName: r.name,
        dueAt,
        expectedBy: r.by,
      });
      await audit(
        trx,
        systemActor(r.account_id),
        "connection.file_missing",
        { type: "connection", id: r.connection_id },
        { dueAt, expectedBy: r.by },
      );
    }
    return rows.length;
  });
  if (missed > 0) {
    queue.wake();
    log.info({ missed }, "expected files not received by their deadline");
  }
  return missed;
}
