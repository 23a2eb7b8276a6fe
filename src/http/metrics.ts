/** Prometheus metrics: process defaults plus HTTP request counts and durations by route. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Database } from "../db/schema.js";
import type { JobQueue } from "../pipeline/jobs.js";
import { serviceRegistry } from "../telemetry.js";

/** A registry per process (or per test app), so metrics never leak between instances. */
export function createMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "ferry_" });
  return registry;
}

/** Loopback addresses: a scraper on the same machine (or a sidecar) needs no token. */
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * Metrics tell a stranger how busy Ferry is and which routes exist: `/metrics` answers loopback clients, and
 * others only with `Authorization: Bearer <FERRY_METRICS_TOKEN>` when that is set (404 otherwise).
 */
export function installMetrics(
  app: FastifyInstance,
  registry: Registry,
  token: string | undefined,
  cluster: { db: Kysely<Database>; queue: JobQueue },
): void {
  // Read at scrape time, the same from every node: the queue's backlog, and the bans in force. The two backlog
  // gauges of one scrape share one query (prom-client collects all metrics at once; the next scrape asks again).
  let backlog: ReturnType<JobQueue["backlog"]> | undefined;
  const backlogNow = () => {
    backlog ??= cluster.queue.backlog().finally(() => {
      backlog = undefined;
    });
    return backlog;
  };
  new Gauge({
    name: "ferry_jobs_waiting",
    help: "Jobs waiting to start, by queue (all nodes)",
    labelNames: ["queue"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await backlogNow()) this.set({ queue: q.queue }, q.waiting);
    },
  });
  new Gauge({
    name: "ferry_jobs_oldest_waiting_seconds",
    help: "How long the oldest waiting job of each queue has waited (all nodes)",
    labelNames: ["queue"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await backlogNow()) this.set({ queue: q.queue }, q.oldestSeconds);
    },
  });
  new Gauge({
    name: "ferry_schedule_lag_seconds",
    help: "How long ago the period of the oldest outbound run still waiting to be generated ended (0: none waits), all nodes",
    registers: [registry],
    async collect() {
      const r = await sql<{ lag: number | null }>`
        SELECT extract(epoch FROM now() - min(period_end))::float8 AS lag FROM report_runs WHERE status = 'pending'`.execute(
        cluster.db,
      );
      this.set(Math.max(0, r.rows[0]?.lag ?? 0));
    },
  });
  new Gauge({
    name: "ferry_login_bans",
    help: "Bans in force after failed logins (address with username, or address), all nodes",
    registers: [registry],
    async collect() {
      const r = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM login_bans WHERE until > clock_timestamp()`.execute(cluster.db);
      this.set(r.rows[0]?.n ?? 0);
    },
  });
  const requests = new Counter({
    name: "ferry_http_requests_total",
    help: "HTTP requests by method, route and status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "ferry_http_request_duration_seconds",
    help: "HTTP request duration by method and route",
    labelNames: ["method", "route"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    // The route pattern, not the URL, so ids do not explode the label set.
    const route = request.routeOptions.url ?? "unmatched";
    requests.inc({ method: request.method, route, status: reply.statusCode });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  // This registry's metrics and the process's service counters (telemetry.ts), as one scrape.
  const all = Registry.merge([registry, serviceRegistry]);
  app.get("/metrics", { schema: { hide: true } }, async (request, reply) => {
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    const allowed = token ? given !== undefined && sameSecret(given, token) : LOOPBACK.test(request.ip);
    if (!allowed) {
      return reply.status(404).send({ error: { code: "NOT_FOUND", message: "No route GET /metrics" } });
    }
    reply.header("content-type", all.contentType);
    return all.metrics();
  });
}

/** Compares two secrets in constant time (by their hashes, so lengths do not show either). */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(h(a), h(b));
}
