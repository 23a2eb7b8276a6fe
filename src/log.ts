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
  "password",
  "token",
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[redacted]" } }, destination ?? process.stdout);
}
