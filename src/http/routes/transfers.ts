/** Transfers: a connection's file history, one transfer, and its original and result files. */
import { create as contentDisposition } from "content-disposition";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { audit } from "../../domain/audit.js";
import { DomainError, invalid, notFound } from "../../domain/errors.js";
import { isQuotaExceeded, uploadLimit } from "../../domain/quota.js";
import {
  dailyActivity,
  getTransfer,
  listResultFiles,
  listTransfers,
  openTransferFile,
} from "../../domain/transfers.js";
import { isTemporaryName, refuseName } from "../../pipeline/names.js";
import { recordUpload } from "../../pipeline/receive.js";
import { reprocess } from "../../pipeline/reprocess.js";
import { readRowErrors } from "../../pipeline/row-errors.js";
import { countedReader, objectStream } from "../../pipeline/store.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import {
  DayActivity,
  ErrorBody,
  IdParams,
  pageOf,
  RESULT_KINDS,
  ResultFile,
  RowErrorPage,
  RowErrorsQuery,
  Transfer,
  TransferQuery,
} from "../schemas.js";

const CONTENT_TYPES = {
  content: "application/octet-stream",
  receipt: "text/plain; charset=utf-8",
  summary: "application/json; charset=utf-8",
  errors: "text/csv; charset=utf-8",
} as const;

/** The type of a gzipped or zipped result file (an errors file a connection compresses), by its name. */
const packedType = (fileName: string): string | undefined =>
  /\.gz$/i.test(fileName) ? "application/gzip" : /\.zip$/i.test(fileName) ? "application/zip" : undefined;

export function transferRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["transfers"];
    // Uploads stream to the store as they arrive: no body buffering, no body limit but maxUploadBytes.
    app.addContentTypeParser("application/octet-stream", (_request, payload, done) => done(null, payload));
    app.post(
      "/connections/:id/files",
      {
        schema: {
          tags,
          summary:
            "Upload a file to an inbound connection (same pipeline as SFTP/FTP): body = the file's bytes",
          params: IdParams,
          querystring: z.object({ name: z.string().min(1).max(255).describe("The file's name") }),
          consumes: ["application/octet-stream"],
          response: { 201: Transfer, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const name = request.query.name;
        const why = refuseName(name) ?? (isTemporaryName(name) ? "is a temporary name (.part, .tmp…)" : null);
        if (why) throw invalid([{ path: "name", message: `The file name ${why}` }]);
        const connection = await deps.db
          .selectFrom("connections")
          .select(["id", "direction", "status"])
          .where("account_id", "=", actor.accountId)
          .where("id", "=", request.params.id)
          .executeTakeFirst();
        if (!connection) throw notFound("Connection");
        if (connection.direction !== "inbound") {
          throw new DomainError("CONFLICT", "Files can only be uploaded to inbound connections");
        }
        if (connection.status !== "active") throw new DomainError("CONFLICT", "The connection is disabled");
        const body = request.body as NodeJS.ReadableStream | undefined;
        if (!body || typeof (body as { pipe?: unknown }).pipe !== "function") {
          throw invalid([{ path: "body", message: "send the file as application/octet-stream" }]);
        }
        const limit = await uploadLimit(deps.db, actor.accountId, deps.maxUploadBytes);
        const upload = await deps.store.create(actor.accountId);
        let position = 0;
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            if (position + chunk.length > limit.bytes) {
              throw new DomainError(
                limit.bytes < deps.maxUploadBytes ? "QUOTA_EXCEEDED" : "PAYLOAD_TOO_LARGE",
                limit.refusal,
              );
            }
            await upload.write(chunk, position);
            position += chunk.length;
          }
        } catch (err) {
          await upload.abort();
          throw err;
        }
        const object = await upload.commit();
        const received = await recordUpload(
          deps.db,
          deps.queue,
          {
            accountId: actor.accountId,
            connectionId: connection.id,
            credentialId: null,
            protocol: "http",
            remoteIp: request.ip,
          },
          name,
          object,
        ).catch(async (err) => {
          if (isQuotaExceeded(err)) await deps.store.remove(object.key);
          throw err;
        });
        await audit(
          deps.db,
          actor,
          "transfer.uploaded",
          { type: "transfer", id: received.transferId },
          {
            fileName: name,
            size: object.size,
            protocol: "http",
          },
        );
        return reply.code(201).send(await getTransfer(deps.db, actor, received.transferId));
      },
    );
    app.get(
      "/connections/:id/transfers",
      {
        schema: {
          tags,
          summary: "A connection's transfers, oldest first, with filters",
          params: IdParams,
          querystring: TransferQuery,
          response: {
            200: pageOf(Transfer).extend({ total: z.number().optional().describe("With withTotal=true") }),
            400: ErrorBody,
            404: ErrorBody,
          },
        },
      },
      async (request) => listTransfers(deps.db, actorOf(request), request.params.id, request.query),
    );
    app.get(
      "/connections/:id/activity",
      {
        schema: {
          tags,
          summary: "Files and rows per day over the last days (account time zone)",
          params: IdParams,
          querystring: z.object({ days: z.coerce.number().int().min(1).max(366).default(30) }),
          response: { 200: z.object({ items: z.array(DayActivity) }), 404: ErrorBody },
        },
      },
      async (request) => ({
        items: await dailyActivity(deps.db, actorOf(request), request.params.id, request.query.days),
      }),
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
    app.post(
      "/transfers/:id/reprocess",
      {
        schema: {
          tags,
          summary:
            "Process a received file again (a new transfer of the same bytes; rows applied before come back as duplicates), or accept a file refused as a duplicate",
          params: IdParams,
          response: { 201: Transfer, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const done = await reprocess(deps.db, deps.queue, actor.accountId, request.params.id);
        const accepted = done.original.status === "duplicate";
        await audit(
          deps.db,
          actor,
          accepted ? "transfer.duplicate_accepted" : "transfer.reprocessed",
          { type: "transfer", id: done.transferId },
          { reprocessOf: done.original.id, fileName: done.original.fileName, was: done.original.status },
        );
        return reply.code(201).send(await getTransfer(deps.db, actor, done.transferId));
      },
    );
    app.get(
      "/transfers/:id/results",
      {
        schema: {
          tags,
          summary: "The result files of an inbound transfer: receipt, summary, errors",
          params: IdParams,
          response: { 200: z.object({ items: z.array(ResultFile) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listResultFiles(deps.db, actorOf(request), request.params.id) }),
    );
    app.get(
      "/transfers/:id/results/errors/rows",
      {
        schema: {
          tags,
          summary:
            "The refused rows of an inbound transfer, as JSON, a page at a time (from its errors file)",
          params: IdParams,
          querystring: RowErrorsQuery,
          response: { 200: RowErrorPage, 404: ErrorBody },
        },
      },
      async (request) => {
        const file = await openTransferFile(deps.db, actorOf(request), request.params.id, "errors");
        const page = await readRowErrors(deps.store, file.key, {
          afterLine: Number(request.query.cursor ?? 0),
          limit: request.query.limit ?? 200,
        });
        return {
          header: page.header,
          items: page.items,
          nextCursor: page.nextLine === null ? null : String(page.nextLine),
        };
      },
    );
    const download = (which: "content" | (typeof RESULT_KINDS)[number], summary: string, url: string) =>
      app.get(
        url,
        {
          // The original file goes as it came (often zipped already; its checksum is of these bytes).
          ...(which === "content" ? { compress: false as const } : {}),
          schema: {
            tags,
            summary,
            params: IdParams,
            produces: [CONTENT_TYPES[which]],
            response: { 404: ErrorBody },
          },
        },
        async (request, reply) => {
          const file = await openTransferFile(deps.db, actorOf(request), request.params.id, which);
          const reader = countedReader(await deps.store.open(file.key), "http");
          reply
            .header("content-type", packedType(file.fileName) ?? CONTENT_TYPES[which])
            .header("content-length", reader.size)
            .header("content-disposition", contentDisposition(file.fileName));
          if (which === "content") reply.header("x-content-sha256", file.transfer.sha256);
          return reply.send(objectStream(reader) as never);
        },
      );
    download("content", "Download the original file", "/transfers/:id/content");
    for (const kind of RESULT_KINDS) {
      download(kind, `Download the ${kind} file`, `/transfers/:id/results/${kind}`);
    }
  };
}
