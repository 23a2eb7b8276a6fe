/** The HTTP server: REST API under /api/v1, its OpenAPI document, /healthz and /metrics. */
import { randomUUID } from "node:crypto";
import compress from "@fastify/compress";
import cookie from "@fastify/cookie";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { sql } from "kysely";
import { installAuth } from "./auth.js";
import type { ApiDeps } from "./deps.js";
import { installErrorHandler } from "./errors.js";
import { installHealth } from "./health.js";
import { installRequestLimits } from "./limits.js";
import { installMetrics } from "./metrics.js";
import { openApiObject, openApiTransform } from "./openapi.js";
import { accountRoutes } from "./routes/accounts.js";
import { auditRoutes } from "./routes/audit.js";
import { connectionRoutes } from "./routes/connections.js";
import { credentialRoutes } from "./routes/credentials.js";
import { downloadRoutes } from "./routes/downloads.js";
import { notificationRoutes } from "./routes/notifications.js";
import { pgpKeyRoutes } from "./routes/pgp-keys.js";
import { platformRoutes } from "./routes/platform.js";
import { sessionRoutes } from "./routes/session.js";
import { transferRoutes } from "./routes/transfers.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { DEFAULT_WEB_ROOT, installWeb } from "./web.js";

export const API_PREFIX = "/api/v1";

/** Builds the app (not listening): `server.ts` listens, tests use `app.inject`. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger | undefined,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    ...(deps.trustedProxies?.length ? { trustProxy: deps.trustedProxies } : {}),
    // A connection silent this long is closed (Fastify's default is never); slow bodies: limits.ts.
    connectionTimeout: 120_000,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  installErrorHandler(app);
  installRequestLimits(app, deps.requestLimits);
  // Answers of 1 KiB and more in a compressible type (JSON, the UI's JS/CSS/HTML, CSV and text results) go
  // brotli or gzip to clients that ask (browsers do; curl only with --compressed). Original and generated
  // files are served as they are (their routes say compress: false).
  await app.register(compress, {
    global: true,
    threshold: 1024,
    encodings: ["br", "gzip"],
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Ferry API",
        version: deps.version ?? "0.0.0",
        description:
          "Batch data connectors: credentials and connections through which files are exchanged over SFTP, FTP and email. Authenticate with `Authorization: Bearer <token>` (or, from the web UI, the session cookie set by POST /session plus an `x-ferry-csrf` header on changes). Errors have the shape `{ error: { code, message, fields?, requestId } }`. Another account's objects answer 404.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    transform: openApiTransform,
    transformObject: openApiObject,
  });

  app.get("/healthz", { schema: { hide: true } }, async (_request, reply) => {
    try {
      await sql`SELECT 1`.execute(deps.db);
      return { status: "ok" };
    } catch {
      return reply.status(503).send({ status: "unavailable", reason: "database unreachable" });
    }
  });
  installHealth(app, deps);
  installMetrics(app, deps.metrics, deps.metricsToken, deps);
  // A process without the http role (FERRY_ROLES) answers /healthz and /metrics only.
  if (deps.api === false) return app;
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.register(cookie);
  installAuth(app, deps.db, API_PREFIX);
  const guard = deps.loginGuard;
  await app.register(sessionRoutes(deps, guard), { prefix: API_PREFIX });
  await app.register(accountRoutes(deps), { prefix: API_PREFIX });
  await app.register(credentialRoutes(deps), { prefix: API_PREFIX });
  await app.register(connectionRoutes(deps), { prefix: API_PREFIX });
  await app.register(transferRoutes(deps), { prefix: API_PREFIX });
  await app.register(platformRoutes(deps), { prefix: API_PREFIX });
  await app.register(webhookRoutes(deps), { prefix: API_PREFIX });
  await app.register(pgpKeyRoutes(deps), { prefix: API_PREFIX });
  await app.register(notificationRoutes(deps), { prefix: API_PREFIX });
  await app.register(auditRoutes(deps), { prefix: API_PREFIX });
  await app.register(downloadRoutes(deps));
  await installWeb(app, deps.webRoot ?? DEFAULT_WEB_ROOT);
  return app;
}
