/** The account's whole audit trail: a page at a time as JSON, or every matching event as CSV. */
import { create as contentDisposition } from "content-disposition";
import { stringify } from "csv-stringify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { type AuditFilter, listAccountAudit } from "../../domain/audit.js";
import { invalid } from "../../domain/errors.js";
import { SPREADSHEET_CSV } from "../../pipeline/results.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import { AccountAuditQuery, AuditEvent, ErrorBody, pageOf } from "../schemas.js";

const CSV_COLUMNS = [
  "at",
  "action",
  "actorType",
  "actorId",
  "objectType",
  "objectId",
  "ip",
  "details",
] as const;

export function auditRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["audit"];
    const filterOf = (q: AuditFilter & { since?: Date; until?: Date }): AuditFilter => {
      if (q.since && q.until && q.since >= q.until)
        throw invalid([{ path: "until", message: "must be after since" }]);
      return q;
    };
    app.get(
      "/audit",
      {
        schema: {
          tags,
          summary:
            "The account's audit trail: logins over every protocol, uploads, downloads, changes, sign-ins, token use; filtered, a page at a time (oldest first; order=desc: newest first)",
          querystring: AccountAuditQuery,
          response: { 200: pageOf(AuditEvent), 400: ErrorBody },
        },
      },
      async (request) => {
        const { limit, cursor, order, ...filter } = request.query;
        return listAccountAudit(deps.db, actorOf(request), filterOf(filter), { limit, cursor, order });
      },
    );
    app.get(
      "/audit.csv",
      {
        schema: {
          tags,
          summary:
            "The same trail as CSV, every matching event (oldest first), for a spreadsheet or an archive",
          querystring: AccountAuditQuery.omit({ limit: true, cursor: true }),
          produces: ["text/csv; charset=utf-8"],
          response: { 400: ErrorBody },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const { order, ...rest } = request.query;
        const filter = filterOf(rest);
        // Details hold user input: formulas are made text.
        const csv = stringify({ header: true, columns: [...CSV_COLUMNS], ...SPREADSHEET_CSV });
        void (async () => {
          try {
            let cursor: string | undefined;
            do {
              const page = await listAccountAudit(deps.db, actor, filter, { limit: 200, cursor, order });
              for (const e of page.items) {
                const row = { ...e, at: e.at.toISOString(), details: JSON.stringify(e.details) };
                // Wait for the client when it reads slower than the database answers.
                if (!csv.write(row)) await new Promise((r) => csv.once("drain", r));
              }
              cursor = page.nextCursor ?? undefined;
            } while (cursor && !csv.destroyed);
            csv.end();
          } catch (err) {
            csv.destroy(err as Error);
          }
        })();
        return reply
          .header("content-type", "text/csv; charset=utf-8")
          .header(
            "content-disposition",
            contentDisposition(`audit-${new Date().toISOString().slice(0, 10)}.csv`),
          )
          .send(csv as never);
      },
    );
  };
}
