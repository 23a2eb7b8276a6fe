/** Prometheus metrics: process defaults plus HTTP request counts and durations by route. */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

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
export function installMetrics(app: FastifyInstance, registry: Registry, token?: string): void {
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
  app.get("/metrics", { schema: { hide: true } }, async (request, reply) => {
    const given = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
    const allowed = token ? given !== undefined && sameSecret(given, token) : LOOPBACK.test(request.ip);
    if (!allowed) {
      return reply.status(404).send({ error: { code: "NOT_FOUND", message: "No route GET /metrics" } });
    }
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}

/** Compares two secrets in constant time (by their hashes, so lengths do not show either). */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(h(a), h(b));
}
