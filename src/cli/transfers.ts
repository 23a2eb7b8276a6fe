/** `ferry transfers`: a connection's file history, uploads through the API, downloads of files and results. */
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import { parse as parseDisposition } from "content-disposition";
import { action, allPages, client, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";
import { progress, wantsProgress } from "./progress.js";

export function registerTransferCommands(program: Command): void {
  const transfers = program
    .command("transfers")
    .description("files through connections: history and downloads");
  transfers
    .command("list")
    .description("a connection's transfers, oldest first")
    .requiredOption("--connection <id>", "connection id")
    .option(
      "--status <status>",
      "only this status (received, processing, processed, partial, rejected, validated, failed, duplicate, generated, delivered, delivery_failed, downloaded)",
    )
    .option("--since <time>", "created at or after (ISO 8601)")
    .option("--until <time>", "created before (ISO 8601)")
    .action(
      action(
        (api, o: Obj) =>
          allPages(api, `/api/v1/connections/${encodeURIComponent(String(o.connection))}/transfers`, {
            status: o.status as string | undefined,
            since: o.since as string | undefined,
            until: o.until as string | undefined,
          }),
        (rows: Obj[]) =>
          printTable(
            rows.map((r) => {
              const n = r.rows as { total: number; ok: number } | null;
              return { ...r, counts: n ? `${n.ok}/${n.total}` : "" };
            }),
            {
              id: "ID",
              createdAt: "TIME",
              fileName: "FILE",
              size: "SIZE",
              status: "STATUS",
              counts: "ROWS OK",
              protocol: "VIA",
              username: "USER",
            },
          ),
      ),
    );
  transfers
    .command("show <id>")
    .description("one transfer: size, sha256, status, times, who, how")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/transfers/${encodeURIComponent(id)}`),
        printObject,
      ),
    );
  transfers
    .command("reprocess <id>")
    .description(
      "process a received file again (a new transfer; rows applied before come back as duplicates), or accept a duplicate",
    )
    .action(
      action(
        (api, id: string) => api.request("POST", `/api/v1/transfers/${encodeURIComponent(id)}/reprocess`),
        printObject,
      ),
    );
  transfers
    .command("upload <file>")
    .description("send a file to an inbound connection through the API (same processing as SFTP/FTP)")
    .requiredOption("--connection <id>", "connection id")
    .option("--name <name>", "the file's name at Ferry (default: the file's own name)")
    .option("--progress", "show progress on stderr (the default when stderr is a terminal)")
    .action(
      action(async (api, file: string, o: Obj) => {
        const { size } = await stat(file);
        const name = (o.name as string | undefined) ?? path.basename(file);
        const source = createReadStream(file);
        const counted = progress("uploading", size, wantsProgress(o.progress));
        // pipe() does not pass errors on: a read error must end the upload, not hang it.
        source.on("error", (err) => counted.destroy(err));
        source.pipe(counted);
        const body = Readable.toWeb(counted) as ReadableStream<Uint8Array>;
        return api.upload(
          `/api/v1/connections/${encodeURIComponent(String(o.connection))}/files?name=${encodeURIComponent(name)}`,
          body,
          size,
        );
      }, printObject),
    );
  transfers
    .command("download <id>")
    .description("download a transfer's original file, or one of its result files")
    .option("-o, --output <file>", "where to write it (default: its own name; - for stdout)")
    .option("--receipt", "the receipt instead of the original")
    .option("--summary", "the summary (JSON) instead of the original")
    .option("--errors", "the errors file (CSV: refused rows with ErrorType and ErrorMessage)")
    .option("--progress", "show progress on stderr (the default when stderr is a terminal)")
    .action(async (id: string, o: Obj, cmd: Command) => {
      const { api } = client(cmd);
      const which = o.receipt
        ? "results/receipt"
        : o.summary
          ? "results/summary"
          : o.errors
            ? "results/errors"
            : "content";
      const response = await api.download(`/api/v1/transfers/${encodeURIComponent(id)}/${which}`);
      const disposition = response.headers.get("content-disposition");
      // Only a name, never a path: the server's word does not choose where the file is written.
      const name = disposition ? path.basename(parseDisposition(disposition).parameters.filename ?? "") : "";
      const output = (o.output as string | undefined) ?? (name && name !== ".." ? name : id);
      const length = Number(response.headers.get("content-length") ?? "") || null;
      const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream);
      const counted = progress("downloading", length, wantsProgress(o.progress));
      if (output === "-") await pipeline(body, counted, process.stdout);
      else {
        // "wx": never overwrite an existing file by surprise.
        await pipeline(body, counted, createWriteStream(output, { flags: "wx" }));
        process.stderr.write(`saved ${output}\n`);
      }
    });
}
