/**
 * What every HTTP request gets before its route: a time limit on its body, a clear answer to an empty JSON
 * body, and a 400 naming the field for text PostgreSQL cannot store (NUL characters).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { invalid } from "../domain/errors.js";

export interface RequestLimits {
  /** A JSON (or other small) body must arrive whole within this time. */
  bodyMs: number;
  /** An upload (application/octet-stream) must keep at least this average rate, checked every `checkMs`. */
  minUploadBytesPerSecond: number;
  checkMs: number;
}

/** Node's defaults are no request timeout in Fastify; these bound what a client trickling a body can hold. */
export const DEFAULT_LIMITS: RequestLimits = {
  bodyMs: 30_000,
  minUploadBytesPerSecond: 1024,
  checkMs: 30_000,
};

export function installRequestLimits(app: FastifyInstance, limits: RequestLimits = DEFAULT_LIMITS): void {
  app.addHook("onRequest", async (request) => {
    const raw = request.raw;
    // No body (GET, or one already read): nothing to wait for.
    if (raw.complete || (!raw.headers["content-length"] && !raw.headers["transfer-encoding"])) return;
    const socket = raw.socket;
    // Requests made in-process (app.inject) have no network socket to hold.
    if (typeof socket?.destroy !== "function") return;
    const upload = String(raw.headers["content-type"] ?? "").startsWith("application/octet-stream");
    let last = socket.bytesRead;
    const started = Date.now();
    const timer = setInterval(
      () => {
        if (raw.complete) return clearInterval(timer);
        const tooSlow = upload
          ? socket.bytesRead - last < (limits.minUploadBytesPerSecond * limits.checkMs) / 1000
          : Date.now() - started >= limits.bodyMs;
        last = socket.bytesRead;
        if (tooSlow) {
          clearInterval(timer);
          request.log.warn({ upload }, "request body too slow; connection closed");
          socket.destroy();
        }
      },
      upload ? limits.checkMs : limits.bodyMs,
    );
    timer.unref();
    raw.once("close", () => clearInterval(timer));
  });

  // An empty body with Content-Type: application/json is no body (DELETE, POST …/disable from some clients),
  // not a syntax error; routes that need a body say so through their schema.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (body === "") return done(null, undefined);
    return json(request, body as string, done);
  });

  app.addHook("preValidation", async (request: FastifyRequest) => {
    for (const [where, value] of [
      ["params", request.params],
      ["query", request.query],
      ["body", request.body],
    ] as const) {
      const at = nulAt(value, where === "body" ? "" : where);
      if (at !== null) throw invalid([{ path: at || "(body)", message: "must not contain NUL characters" }]);
    }
  });
}

/** The path of the first string holding a NUL character, or null. */
function nulAt(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (depth > 20 || value === null || typeof value !== "object") return null;
  if (Buffer.isBuffer(value) || typeof (value as { pipe?: unknown }).pipe === "function") return null;
  for (const [key, v] of Object.entries(value)) {
    const found = nulAt(v, path ? `${path}.${key}` : key, depth + 1);
    if (found !== null) return found;
  }
  return null;
}
