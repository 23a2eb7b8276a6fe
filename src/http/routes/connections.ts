/** /api/v1/connections: create, list with filters, get, edit, disable/enable; never delete. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { accountKey } from "../../domain/account-keys.js";
import { listAuditEvents } from "../../domain/audit.js";
import { connectionTestSchema } from "../../domain/connection-rules.js";
import {
  connectionDeleteRefused,
  createConnection,
  getConnection,
  listConnections,
  setConnectionStatus,
  updateConnection,
} from "../../domain/connections.js";
import { acceptHostKey, listPulls, pullNow } from "../../domain/pulls.js";
import { listRuns, runNow, SAME_RUN_SECONDS } from "../../domain/runs.js";
import { testConnection } from "../../pipeline/connection-test.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import {
  AuditEvent,
  AuditQuery,
  Connection,
  ConnectionBody,
  ConnectionPatch,
  ConnectionQuery,
  ErrorBody,
  IdParams,
  Pull,
  pageOf,
} from "../schemas.js";

export function connectionRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["connections"];
    app.post(
      "/connections",
      {
        schema: {
          tags,
          summary: "Create a connection",
          body: ConnectionBody,
          response: { 201: Connection, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await createConnection(deps, actorOf(request), request.body)),
    );
    app.get(
      "/connections",
      {
        schema: {
          tags,
          summary: "List connections, with filters",
          querystring: ConnectionQuery,
          response: { 200: pageOf(Connection) },
        },
      },
      async (request) => listConnections(deps, actorOf(request), request.query),
    );
    app.get(
      "/connections/:id",
      {
        schema: {
          tags,
          summary: "One connection",
          params: IdParams,
          response: { 200: Connection, 404: ErrorBody },
        },
      },
      async (request) => getConnection(deps, actorOf(request), request.params.id),
    );
    app.patch(
      "/connections/:id",
      {
        schema: {
          tags,
          summary: "Edit name, credential or details",
          params: IdParams,
          body: ConnectionPatch,
          response: { 200: Connection, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => updateConnection(deps, actorOf(request), request.params.id, request.body),
    );
    for (const action of ["disable", "enable"] as const) {
      app.post(
        `/connections/:id/${action}`,
        {
          schema: {
            tags,
            summary:
              action === "disable"
                ? "Disable a connection (it stays visible)"
                : "Enable a disabled connection",
            params: IdParams,
            response: { 200: Connection, 404: ErrorBody },
          },
        },
        async (request) =>
          setConnectionStatus(
            deps,
            actorOf(request),
            request.params.id,
            action === "disable" ? "disabled" : "active",
          ),
      );
    }
    app.delete(
      "/connections/:id",
      {
        schema: {
          tags,
          summary: "Not allowed: connections are never deleted (405)",
          params: IdParams,
          response: { 405: ErrorBody, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        // Answer 404 for another account's id, as everywhere; 405 for one's own.
        await getConnection(deps, actorOf(request), request.params.id);
        reply.header("allow", "GET, PATCH");
        throw connectionDeleteRefused();
      },
    );
    app.get(
      "/connections/:id/audit",
      {
        schema: {
          tags,
          summary: "The connection's audit trail, a page at a time (oldest first; order=desc: newest first)",
          params: IdParams,
          querystring: AuditQuery,
          response: { 200: pageOf(AuditEvent), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const connection = await getConnection(deps, actor, request.params.id);
        return listAuditEvents(deps.db, actor, { type: "connection", id: connection.id }, request.query);
      },
    );
    const Run = z.object({
      id: z.string(),
      connectionId: z.string(),
      periodStart: z.date(),
      periodEnd: z.date(),
      trigger: z.enum(["schedule", "manual"]),
      status: z.enum(["pending", "generated", "failed"]),
      transferId: z.string().nullable().describe("The generated file, once generated"),
      rows: z.number().nullable(),
      error: z.string().nullable(),
      createdAt: z.date(),
      finishedAt: z.date().nullable(),
    });
    app.post(
      "/connections/:id/runs",
      {
        schema: {
          tags,
          summary: `Generate an outbound connection's file now, for a period (default: yesterday, account time). Asked again for the same period within ${SAME_RUN_SECONDS} s while that run is still pending (a double click, a retry), the same run is answered`,
          params: IdParams,
          body: z
            .strictObject({
              from: z.coerce.date().optional().describe("Period start (ISO 8601)"),
              to: z.coerce.date().optional().describe("Period end, exclusive (ISO 8601)"),
            })
            .optional(),
          response: { 202: Run, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply
          .code(202)
          .send(await runNow(deps.db, deps.queue, actorOf(request), request.params.id, request.body ?? {})),
    );
    const TestResult = z.object({
      ok: z.boolean(),
      method: z.enum(["sftp", "ftp", "email"]),
      host: z.string(),
      port: z.number(),
      username: z.string(),
      hostKey: z
        .string()
        .nullable()
        .describe("The server's SSH host key or TLS certificate fingerprint, to accept; '' for plain FTP"),
      folder: z.string(),
      files: z.number().describe("Files in the folder (messages in the mailbox)"),
      sample: z.array(z.string()).describe("The first names, sorted"),
      error: z
        .object({ code: z.string(), message: z.string() })
        .nullable()
        .describe("Why it failed, in words"),
    });
    app.post(
      "/connections/test",
      {
        schema: {
          tags,
          summary:
            "Test a server login before saving it (or a saved connection's): logs in, lists the folder, reports the host key — nothing is pulled or written",
          operationId: "testConnection",
          body: connectionTestSchema,
          response: { 200: TestResult, 400: ErrorBody, 404: ErrorBody, 429: ErrorBody },
        },
      },
      async (request) => {
        // server.ts always gives one; a test harness without it has no business testing logins.
        if (!deps.remote) throw new Error("No remote connector configured");
        return testConnection(deps.remote, actorOf(request), request.body);
      },
    );
    app.post(
      "/connections/:id/pulls",
      {
        schema: {
          tags,
          summary: "Pull now: a pull from the third party's server, at once",
          params: IdParams,
          response: { 202: Pull, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(202).send(await pullNow(deps.db, deps.queue, actorOf(request), request.params.id)),
    );
    app.get(
      "/connections/:id/pulls",
      {
        schema: {
          tags,
          summary: "A pull connection's pulls, newest first: its health",
          params: IdParams,
          response: { 200: z.object({ items: z.array(Pull) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listPulls(deps.db, actorOf(request), request.params.id) }),
    );
    app.post(
      "/connections/:id/accept-host-key",
      {
        schema: {
          tags,
          summary: "Trust the host key the server presented at the latest pull (after a host key mismatch)",
          params: IdParams,
          response: { 200: z.object({ hostKeyFingerprint: z.string() }), 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => ({
        hostKeyFingerprint: await acceptHostKey(deps.db, actorOf(request), request.params.id),
      }),
    );
    app.get(
      "/ssh-key",
      {
        schema: {
          tags,
          summary:
            "The public key Ferry logs in with to your servers (authMethod key): add it to their authorized_keys",
          response: {
            200: z.object({ publicKey: z.string(), fingerprint: z.string(), createdAt: z.date() }),
          },
        },
      },
      async (request) => accountKey(deps.db, deps.box, actorOf(request).accountId),
    );
    app.get(
      "/connections/:id/runs",
      {
        schema: {
          tags,
          summary: "An outbound connection's runs, newest first",
          params: IdParams,
          response: { 200: z.object({ items: z.array(Run) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listRuns(deps.db, actorOf(request), request.params.id) }),
    );
  };
}
