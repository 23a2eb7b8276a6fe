/**
 * Schedules of outbound connections: which periods are due, and one run (with its generation job) per period,
 * exactly once however many Ferry processes tick — the unique index on (connection, period_start) of
 * scheduled runs decides, in the same transaction that enqueues the job. Periods that were missed (Ferry
 * down, connection disabled) are caught up in order, oldest first.
 *
 * Period boundaries are wall-clock times in the account's time zone (PostgreSQL does the time zone
 * arithmetic, daylight saving time included): hourly and every 2/4/8 hours from local midnight; twice daily at
 * 06:00 and 18:00; daily, weekly (on a day) and monthly (on a day) at the schedule's time.
 */
import { type Kysely, sql } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import { scheduleDuePulls } from "../domain/pulls.js";
import type { JobQueue } from "./jobs.js";

export interface Schedule {
  frequency:
    | "hourly"
    | "every_2_hours"
    | "every_4_hours"
    | "every_8_hours"
    | "twice_daily"
    | "daily"
    | "weekly"
    | "monthly";
  time?: string | undefined;
  dayOfWeek?: string | undefined;
  dayOfMonth?: number | undefined;
}

const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/** A local timestamp at or before the local time of `from`, from which boundaries go in steps of `step`. */
function plan(s: Schedule): { base: string; step: string } {
  const time = `interval '${/^\d\d:\d\d$/.test(s.time ?? "") ? s.time : "00:00"}'`;
  const local = "(@from AT TIME ZONE @tz)";
  switch (s.frequency) {
    case "hourly":
      return { base: `date_trunc('day', ${local})`, step: "interval '1 hour'" };
    case "every_2_hours":
      return { base: `date_trunc('day', ${local})`, step: "interval '2 hours'" };
    case "every_4_hours":
      return { base: `date_trunc('day', ${local})`, step: "interval '4 hours'" };
    case "every_8_hours":
      return { base: `date_trunc('day', ${local})`, step: "interval '8 hours'" };
    case "twice_daily":
      return { base: `date_trunc('day', ${local}) - interval '6 hours'`, step: "interval '12 hours'" };
    case "daily":
      return { base: `date_trunc('day', ${local}) - interval '1 day' + ${time}`, step: "interval '1 day'" };
    case "weekly": {
      const day = Math.max(0, DAYS.indexOf(s.dayOfWeek ?? "monday"));
      return {
        base: `date_trunc('week', ${local}) - interval '7 days' + interval '${day} days' + ${time}`,
        step: "interval '7 days'",
      };
    }
    case "monthly": {
      const day = Math.min(28, Math.max(1, s.dayOfMonth ?? 1)) - 1;
      return {
        base: `date_trunc('month', ${local}) - interval '1 month' + interval '${day} days' + ${time}`,
        step: "interval '1 month'",
      };
    }
  }
}

/**
 * The periods [start, end) of a schedule that contain or follow `from` and end at or before `now`, oldest
 * first, at most `limit`. With `continues`, `from` is where the last period ended: the first period starts
 * there even when it is not a boundary any more (the time zone or the schedule changed), so that nothing is
 * reported twice and nothing is left out.
 */
export async function duePeriods(
  db: Kysely<Database>,
  schedule: Schedule,
  timeZone: string,
  from: Date,
  now: Date,
  limit: number,
  continues = false,
): Promise<{ start: Date; end: Date }[]> {
  const { base, step } = plan(schedule);
  // The plan's SQL has @from and @tz as placeholders: they become bound parameters here.
  const parts = base.split(/@(from|tz)\b/);
  const baseSql = sql.join(
    parts.map((p, i) =>
      i % 2 === 0 ? sql.raw(p) : p === "from" ? sql`${from}::timestamptz` : sql`${timeZone}::text`,
    ),
    sql.raw(""),
  );
  const { rows } = await sql<{ b: Date }>`
    SELECT b FROM (
      SELECT (local AT TIME ZONE ${timeZone}::text) AS b
      FROM generate_series(${baseSql}, (${now}::timestamptz AT TIME ZONE ${timeZone}::text), ${sql.raw(step)}) AS local
    ) x ORDER BY b`.execute(db);
  const bounds = rows.map((r) => new Date(r.b));
  // The first period is the one containing `from`: start at the last boundary at or before it.
  let first = 0;
  for (let i = 0; i < bounds.length; i++) if (bounds[i]! <= from) first = i;
  const periods: { start: Date; end: Date }[] = [];
  for (let i = first + 1; i < bounds.length && periods.length < limit; i++) {
    if (bounds[i]! > now) break;
    const start = continues && i === first + 1 && bounds[i - 1]! < from ? from : bounds[i - 1]!;
    if (bounds[i]! > start) periods.push({ start, end: bounds[i]! });
  }
  return periods;
}

/**
 * Creates the due scheduled runs of every active outbound connection, with their jobs, in one transaction per
 * connection. Returns how many runs this call created (another process may have created the rest).
 */
export async function scheduleDueRuns(
  db: Kysely<Database>,
  queue: JobQueue,
  now: Date = new Date(),
  limitPerConnection = 48,
): Promise<number> {
  const connections = await db
    .selectFrom("connections as c")
    .innerJoin("accounts as a", "a.id", "c.account_id")
    .select(["c.id", "c.account_id", "c.details", "c.created_at", "a.time_zone"])
    .where("c.direction", "=", "outbound")
    .where("c.status", "=", "active")
    .execute();
  let created = 0;
  for (const c of connections) {
    const schedule = ((c.details as { schedule?: Schedule }).schedule ?? {
      frequency: "daily",
      time: "02:00",
    }) as Schedule;
    const last = await db
      .selectFrom("report_runs")
      .select((eb) => eb.fn.max("period_end").as("end"))
      .where("connection_id", "=", c.id)
      .where("trigger", "=", "schedule")
      .executeTakeFirst();
    const from = last?.end ? new Date(last.end) : c.created_at;
    const periods = await duePeriods(db, schedule, c.time_zone, from, now, limitPerConnection, !!last?.end);
    if (periods.length === 0) continue;
    created += await db.transaction().execute(async (trx) => {
      let n = 0;
      for (const p of periods) {
        const id = newId();
        const inserted = await trx
          .insertInto("report_runs")
          .values({
            id,
            account_id: c.account_id,
            connection_id: c.id,
            period_start: p.start,
            period_end: p.end,
            trigger: "schedule",
          })
          .onConflict((oc) =>
            oc.columns(["connection_id", "period_start"]).where("trigger", "=", "schedule").doNothing(),
          )
          .returning("id")
          .executeTakeFirst();
        if (inserted) {
          await queue.enqueueGeneration(trx, { runId: id });
          n++;
        }
      }
      return n;
    });
  }
  if (created > 0) queue.wake();
  return created;
}

/** Ticks the scheduler every `everyMs` in this process; errors are logged and the next tick tries again. */
export function startScheduler(
  db: Kysely<Database>,
  queue: JobQueue,
  log: { error(o: object, m: string): void; info(o: object, m: string): void },
  everyMs: number,
): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = Promise.all([scheduleDueRuns(db, queue), scheduleDuePulls(db, queue)]).then(
      ([runs, pulls]) => {
        if (runs > 0) log.info({ runs }, "scheduled runs created");
        if (pulls > 0) log.info({ pulls }, "scheduled pulls created");
      },
      (err) => log.error({ err }, "scheduling failed"),
    );
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  tick();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
