/** /downloads/{token}: time-limited links to generated files sent by email; the token is the only key. */
import { create as contentDisposition } from "content-disposition";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { audit } from "../../domain/audit.js";
import { notFound } from "../../domain/errors.js";
import { countDownload } from "../../domain/transfers.js";
import { tokenHash } from "../../pipeline/deliver.js";
import { countedReader, objectStream } from "../../pipeline/store.js";
import type { ApiDeps } from "../deps.js";
import { ErrorBody } from "../schemas.js";

/** How long a presigned URL a download link redirects to works: enough to start the download, no more. */
const PRESIGNED_SECONDS = 300;

export function downloadRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/downloads/:token",
      {
        // Generated files go as generated (gzip or zip already when the connection asks).
        compress: false,
        schema: {
          tags: ["transfers"],
          summary: "Download a generated file through the link Ferry emailed (no token header needed)",
          operationId: "downloadByLink",
          // Public: the link's token (in the path) is the credential.
          security: [],
          params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/) }),
          produces: ["application/octet-stream"],
          response: { 404: ErrorBody },
        },
      },
      async (request, reply) => {
        // One use taken at once, so parallel requests cannot pass the limit together.
        const used = await deps.db
          .updateTable("download_links")
          .set((eb) => ({ uses: eb("uses", "+", 1) }))
          .where("token_hash", "=", tokenHash(request.params.token))
          .where("expires_at", ">", new Date())
          .where((eb) => eb.or([eb("max_uses", "is", null), eb("uses", "<", eb.ref("max_uses"))]))
          .returning(["account_id", "transfer_id"])
          .executeTakeFirst();
        const link = used
          ? await deps.db
              .selectFrom("transfers")
              .select(["account_id", "id as transfer_id", "file_name", "store_key"])
              .where("account_id", "=", used.account_id)
              .where("id", "=", used.transfer_id)
              .executeTakeFirst()
          : undefined;
        if (!link?.store_key)
          throw notFound("Download link (unknown, expired, used up, or the file is gone)");
        // With an object store whose URLs users can reach, the bytes come from there, not through Ferry.
        const presigned =
          deps.presignDownloads && deps.store.presign
            ? await deps.store.presign(link.store_key, link.file_name, PRESIGNED_SECONDS)
            : undefined;
        const reader = presigned ? undefined : countedReader(await deps.store.open(link.store_key), "link");
        await countDownload(deps.db, link.account_id, link.transfer_id);
        await audit(
          deps.db,
          {
            accountId: link.account_id,
            type: "system",
            id: null,
            role: "member",
            accountRole: "member",
            ip: request.ip,
          },
          "transfer.downloaded",
          { type: "transfer", id: link.transfer_id },
          { fileName: link.file_name, protocol: "link" },
        );
        if (!reader) return reply.header("cache-control", "no-store").redirect(presigned!, 302);
        return reply
          .header("content-type", "application/octet-stream")
          .header("content-length", reader.size)
          .header("content-disposition", contentDisposition(link.file_name))
          .send(objectStream(reader) as never);
      },
    );
  };
}
