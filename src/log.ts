/** Structured logs (pino). Secrets are redacted by path wherever they could appear. */
import { type Logger, pino } from "pino";

/** Paths that may hold a secret in anything logged: request headers, bodies, config, errors. */
export const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  "*.password",
  "*.token",
  "*.adminPassword",
  "*.adminToken",
  "*.masterKey",
  "*.databaseUrl",
  "*.metricsToken",
  "password",
  "token",
];

/** A URL as it may be logged: the token of a download link is its only key, so it is cut out. */
export function loggableUrl(url: string): string {
  return url.replace(/^\/downloads\/[^/?#]+/, "/downloads/[redacted]");
}

/** How requests appear in logs (Fastify logs `{ req }` at each request): method, URL without secrets, caller. */
function serializeRequest(req: { method?: string; url?: string; ip?: string; hostname?: string }) {
  return {
    method: req.method,
    url: loggableUrl(req.url ?? ""),
    hostname: req.hostname,
    remoteAddress: req.ip,
  };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: "[redacted]" }, serializers: { req: serializeRequest } },
    destination ?? process.stdout,
  );
}
