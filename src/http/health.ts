/**
 * Health as load balancers and orchestrators use it. /livez: the process serves (nothing else is asked, so a
 * database outage does not get it restarted). /readyz: it can do its work — the database answers, its schema
 * has every migration this version knows, the file store takes a write, the job queue runs; 503 naming what
 * is not. (/healthz, the database alone, stays for balancers configured with it.)
 */
import type { FastifyInstance } from "fastify";
import { type Kysely, sql } from "kysely";
import { loadMigrations } from "../db/migrate.js";
import type { Database } from "../db/schema.js";
import type { JobQueue } from "../pipeline/jobs.js";
import type { FileStore } from "../pipeline/store.js";

export interface Check {
  name: "database" | "migrations" | "store" | "queue";
  ok: boolean;
  detail: string;
}

/** A check that does not answer within this is failed (a hung database must not hang the probe). */
const CHECK_TIMEOUT_MS = 3000;
/** A store that took a write is tried again after this (probes come every few seconds). */
const STORE_CHECK_EVERY_MS = 30_000;

/** A check that did not answer in time: its words are safe to show (no driver message in them). */
class CheckTimeout extends Error {}

/** `promise`, or a CheckTimeout after CHECK_TIMEOUT_MS (the timer goes as soon as either settles). */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CheckTimeout(`${what} did not answer within ${CHECK_TIMEOUT_MS / 1000} s`)),
      CHECK_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A timeout's own words (safe to show), or undefined for any other failure. */
const timedOut = (err: unknown): string | undefined =>
  err instanceof CheckTimeout ? err.message : undefined;

export function installHealth(
  app: FastifyInstance,
  deps: { db: Kysely<Database>; store: FileStore; queue: JobQueue },
) {
  let storeChecked: { at: number; check: Check } | undefined;
  const latest = loadMigrations().then((all) => Math.max(0, ...all.map((m) => m.id)));

  const database = async (): Promise<Check> => {
    await within(sql`SELECT 1`.execute(deps.db), "the database");
    return { name: "database", ok: true, detail: "answers" };
  };
  const migrations = async (): Promise<Check> => {
    const known = await latest;
    const r = await within(
      sql<{ id: number | null }>`SELECT max(id) AS id FROM ferry_migrations`.execute(deps.db),
      "the database",
    );
    const applied = r.rows[0]?.id ?? 0;
    if (applied < known)
      return {
        name: "migrations",
        ok: false,
        detail: `${known - applied} pending: run ferry migrate (or start Ferry once)`,
      };
    return {
      name: "migrations",
      ok: true,
      detail: applied > known ? `at ${applied}, newer than this version's ${known}` : `at ${applied}`,
    };
  };
  const store = async (): Promise<Check> => {
    // A pass stands 30 s; a failure 1 s (tried again soon, but not once per request of a busy or hostile prober).
    if (storeChecked && Date.now() - storeChecked.at < (storeChecked.check.ok ? STORE_CHECK_EVERY_MS : 1000))
      return storeChecked.check;
    const check = await (async (): Promise<Check> => {
      const upload = await within(deps.store.create(), "the file store");
      try {
        await within(upload.write(Buffer.from("ready?\n"), 0), "the file store");
      } finally {
        await upload.abort().catch(() => {});
      }
      return { name: "store", ok: true, detail: "takes a write" };
    })().catch((err): Check => {
      app.log.warn({ err }, "readiness: the file store does not take a write");
      return {
        name: "store",
        ok: false,
        detail: `does not take a write (${timedOut(err) ?? "see the log"})`,
      };
    });
    storeChecked = { at: Date.now(), check };
    return check;
  };
  const queue = async (): Promise<Check> =>
    deps.queue.running()
      ? { name: "queue", ok: true, detail: "running" }
      : { name: "queue", ok: false, detail: "stopped" };

  app.get("/livez", { schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    const runs: Record<Check["name"], () => Promise<Check>> = { database, migrations, store, queue };
    const checks = await Promise.all(
      (Object.keys(runs) as Check["name"][]).map((name) =>
        runs[name]().catch((err): Check => {
          app.log.warn({ err }, `readiness: ${name} check failed`);
          // The reason goes to the log: the probe is public, and a driver's message names hosts and ports.
          return { name, ok: false, detail: timedOut(err) ?? "unreachable (see the log)" };
        }),
      ),
    );
    const ready = checks.every((c) => c.ok);
    return reply.status(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks });
  });
}
