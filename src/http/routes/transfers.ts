/** Transfers: a connection's file history, one transfer, and its original and result files. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { getTransfer, listTransfers, openTransferFile } from "../../domain/transfers.js";
import { objectStream } from "../../pipeline/store.js";
import type { ApiDeps } from "../app.js";
import { actorOf } from "../auth.js";
import { ErrorBody, IdParams, pageOf, Transfer, TransferQuery } from "../schemas.js";

/** A Content-Disposition that survives any file name (RFC 6266 with RFC 5987 filename*). */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function transferRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["transfers"];
    app.get(
      "/connections/:id/transfers",
      {
        schema: {
          tags,
          summary: "A connection's transfers, oldest first, with filters",
          params: IdParams,
          querystring: TransferQuery,
          response: { 200: pageOf(Transfer), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => listTransfers(deps.db, actorOf(request), request.params.id, request.query),
    );
    app.get(
      "/transfers/:id",
      {
        schema: {
          tags,
          summary: "One transfer",
          params: IdParams,
          response: { 200: Transfer, 404: ErrorBody },
        },
      },
      async (request) => getTransfer(deps.db, actorOf(request), request.params.id),
    );
    for (const which of ["content", "result"] as const) {
      app.get(
        `/transfers/:id/${which}`,
        {
          schema: {
            tags,
            summary: which === "content" ? "Download the original file" : "Download the result file",
            params: IdParams,
            response: { 404: ErrorBody },
          },
        },
        async (request, reply) => {
          const file = await openTransferFile(deps.db, actorOf(request), request.params.id, which);
          const reader = await deps.store.open(file.key);
          reply
            .header(
              "content-type",
              which === "result" ? "text/csv; charset=utf-8" : "application/octet-stream",
            )
            .header("content-length", reader.size)
            .header("content-disposition", attachment(file.fileName));
          if (which === "content") reply.header("x-content-sha256", file.transfer.sha256);
          return reply.send(objectStream(reader) as never);
        },
      );
    }
  };
}
