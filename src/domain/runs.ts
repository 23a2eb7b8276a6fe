/**
 * Outbound runs: one generated file of an outbound connection for one period. "Run now" creates a manual run
 * and enqueues its generation in the same transaction; the scheduler (to come) creates one run per period.
 */
import { type Kysely, sql } from "kysely";
import { isId, newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, invalid, notFound } from "./errors.js";
import type { GenerationQueue } from "./jobs.js";

/** "Run now" asked again for the same period within this many seconds, its run still pending, gives that run. */
export const SAME_RUN_SECONDS = 10;

export interface Run {
  id: string;
  connectionId: string;
  periodStart: Date;
  periodEnd: Date;
  trigger: "schedule" | "manual";
  status: "pending" | "generated" | "failed";
  transferId: string | null;
  rows: number | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

async function outboundConnection(db: Kysely<Database>, actor: Actor, connectionId: string) {
  if (!isId(connectionId)) throw notFound("Connection");
  const c = await db
    .selectFrom("connections as c")
    .innerJoin("accounts as a", "a.id", "c.account_id")
    .select(["c.id", "c.direction", "c.status", "a.time_zone"])
    .where("c.account_id", "=", actor.accountId)
    .where("c.id", "=", connectionId)
    .executeTakeFirst();
  if (!c) throw notFound("Connection");
  return c;
}

/**
 * Generates a file now for a period (default: yesterday in the account's time zone). Returns the pending run;
 * the file appears in the connection's outbox when the run is `generated`.
 */
export async function runNow(
  db: Kysely<Database>,
  queue: GenerationQueue,
  actor: Actor,
  connectionId: string,
  period: { from?: Date | undefined; to?: Date | undefined },
): Promise<Run> {
  const c = await outboundConnection(db, actor, connectionId);
  if (c.direction !== "outbound")
    throw new DomainError("CONFLICT", "Only outbound connections generate files");
  if (c.status !== "active") throw new DomainError("CONFLICT", "The connection is disabled");
  if ((period.from === undefined) !== (period.to === undefined)) {
    throw invalid([{ path: period.from ? "to" : "from", message: "give both from and to, or neither" }]);
  }
  let { from, to } = period;
  if (!from || !to) {
    const day = await sql<{ from: Date; to: Date }>`
      SELECT (date_trunc('day', now() AT TIME ZONE ${c.time_zone}) - interval '1 day') AT TIME ZONE ${c.time_zone} AS from,
             date_trunc('day', now() AT TIME ZONE ${c.time_zone}) AT TIME ZONE ${c.time_zone} AS to`.execute(
      db,
    );
    ({ from, to } = day.rows[0]!);
  }
  if (from >= to) throw invalid([{ path: "to", message: "must be after from" }]);
  let id = newId();
  await db.transaction().execute(async (trx) => {
    // A second "run now" of the same period moments later, while the first is still pending (a double click, a
    // client's retry), is the same run: asked one after the other under the connection's lock, the second finds
    // the first. Once a run is done, asking again makes a new one (a deliberate re-run).
    await sql`SELECT 1 FROM connections WHERE id = ${c.id} FOR NO KEY UPDATE`.execute(trx);
    const same = await trx
      .selectFrom("report_runs")
      .select("id")
      .where("connection_id", "=", c.id)
      .where("trigger", "=", "manual")
      .where("period_start", "=", from)
      .where("period_end", "=", to)
      .where("status", "=", "pending")
      .where(sql<boolean>`created_at > now() - make_interval(secs => ${SAME_RUN_SECONDS})`)
      .executeTakeFirst();
    if (same) {
      id = same.id;
      return;
    }
    await trx
      .insertInto("report_runs")
      .values({
        id,
        account_id: actor.accountId,
        connection_id: c.id,
        period_start: from,
        period_end: to,
        trigger: "manual",
      })
      .execute();
    await queue.enqueueGeneration(trx, { runId: id });
    await audit(
      trx,
      actor,
      "connection.run_requested",
      { type: "connection", id: c.id },
      { runId: id, from, to },
    );
  });
  queue.wake();
  return getRun(db, actor, id);
}

export async function getRun(db: Kysely<Database>, actor: Actor, id: string): Promise<Run> {
  if (!isId(id)) throw notFound("Run");
  const r = await db
    .selectFrom("report_runs")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!r) throw notFound("Run");
  return toRun(r);
}

/** A connection's runs, newest first (at most 200). */
export async function listRuns(db: Kysely<Database>, actor: Actor, connectionId: string): Promise<Run[]> {
  await outboundConnection(db, actor, connectionId);
  const rows = await db
    .selectFrom("report_runs")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("connection_id", "=", connectionId)
    .orderBy("id", "desc")
    .limit(200)
    .execute();
  return rows.map(toRun);
}

function toRun(r: {
  id: string;
  connection_id: string;
  period_start: Date | string;
  period_end: Date | string;
  trigger: "schedule" | "manual";
  status: "pending" | "generated" | "failed";
  transfer_id: string | null;
  rows: number | null;
  error: string | null;
  created_at: Date;
  finished_at: Date | string | null;
}): Run {
  return {
    id: r.id,
    connectionId: r.connection_id,
    periodStart: new Date(r.period_start),
    periodEnd: new Date(r.period_end),
    trigger: r.trigger,
    status: r.status,
    transferId: r.transfer_id,
    rows: r.rows,
    error: r.error,
    createdAt: r.created_at,
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
  };
}
