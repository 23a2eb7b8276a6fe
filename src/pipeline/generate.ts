/**
 * Generation of one outbound run: the report's SELECT runs as `COPY (…) TO STDOUT` in the account's time
 * zone, streams through gzip when asked into a new store object, and one transaction records the outbound
 * Transfer (status `generated`, in the connection's outbox/) and marks the run. Constant memory for any size;
 * a crash before the commit leaves the run pending and the job retries it; the run's lease keeps two workers
 * off one run.
 */
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import type { Logger } from "pino";
import { REPORT_SQL } from "../datatypes/reports.js";
import { newId } from "../db/ids.js";
import {
  compressedName,
  DEFAULT_FILE_NAME_TEMPLATE,
  FORMAT_EXT,
  packedName,
  renderFileName,
} from "../domain/file-names.js";
import { messageOf } from "../thrown.js";
import { compressed } from "./compress.js";
import { emitEvent, type TransferEventData } from "./events.js";
import type { JobQueue } from "./jobs.js";
import { withLease } from "./lease.js";
import { encrypted, type PgpKeyring, type PgpWriting, writingKeys } from "./pgp.js";
import type { FileStore } from "./store.js";

export interface GenerateDeps {
  pool: pg.Pool;
  store: FileStore;
  log: Logger;
  /** Where delivery jobs go (email connections); without it generated files wait in outbox/ only. */
  queue?: JobQueue | undefined;
  /** The accounts' PGP keys: files of connections that ask are encrypted (and signed). */
  pgp: PgpKeyring;
}

export function runLeaseKey(runId: string): string {
  return `ferry-generate:${runId}`;
}

const FORMATS = {
  csv: { ext: FORMAT_EXT.csv, options: "FORMAT csv, HEADER true" },
  tsv: { ext: FORMAT_EXT.tsv, options: "FORMAT csv, HEADER true, DELIMITER E'\\t'" },
  pipe: { ext: FORMAT_EXT.pipe, options: "FORMAT csv, HEADER true, DELIMITER '|'" },
  // One JSON object per line; control characters never appear in row_to_json's output, so no quoting.
  jsonl: { ext: FORMAT_EXT.jsonl, options: "FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02'" },
} as const;

interface RunRow {
  id: string;
  account_id: string;
  connection_id: string;
  period_start: Date;
  period_end: Date;
  status: string;
  trigger: "schedule" | "manual";
  folder: string;
  data_type: string;
  method: string;
  details: {
    report?: string;
    format?: keyof typeof FORMATS;
    compression?: "none" | "gzip" | "zip";
    fileNameTemplate?: string;
    campaignIds?: number[];
    partnerIds?: number[];
    deliverToServer?: boolean;
    pgpEncryptTo?: string;
    pgpSign?: boolean;
  };
  time_zone: string;
}

/** Generates a pending run; "skipped" when it is not pending, "busy" when another worker holds it. */
export async function generateRun(
  deps: GenerateDeps,
  runId: string,
): Promise<"generated" | "skipped" | "busy"> {
  return withLease(deps.pool, runLeaseKey(runId), (client) => generate(deps, client, runId));
}

async function generate(deps: GenerateDeps, client: pg.PoolClient, runId: string) {
  const { rows } = await client.query<RunRow>(
    `SELECT r.id, r.account_id, r.connection_id, r.period_start, r.period_end, r.status, r.trigger, c.folder, c.data_type,
            c.method, c.details, a.time_zone
     FROM report_runs r JOIN connections c ON c.id = r.connection_id JOIN accounts a ON a.id = r.account_id
     WHERE r.id = $1`,
    [runId],
  );
  const run = rows[0];
  if (run?.status !== "pending") return "skipped";
  const report =
    run.data_type === "reports"
      ? (run.details.report ?? "action_listing")
      : run.data_type === "performance_bonus_detail"
        ? run.data_type
        : "";
  const sqlOf = REPORT_SQL[report];
  if (!sqlOf) {
    await client.query(
      "UPDATE report_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1",
      [runId, `${run.data_type} files cannot be generated yet`],
    );
    return "generated";
  }
  let pgp: PgpWriting | null;
  try {
    pgp = await writingKeys(deps.pgp, run.account_id, run.details);
  } catch (err) {
    // A key that is missing or expired fails the run, in words; retrying would not help.
    await client.query(
      "UPDATE report_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1",
      [runId, messageOf(err)],
    );
    return "generated";
  }
  const format = FORMATS[run.details.format ?? "csv"];
  const compression = run.details.compression ?? "none";
  const started = Date.now();
  await client.query("BEGIN");
  try {
    await client.query("SELECT set_config('TimeZone', $1, true)", [run.time_zone]);
    const select = sqlOf(
      {
        accountId: run.account_id,
        from: run.period_start,
        to: run.period_end,
        campaignIds: run.details.campaignIds ?? [],
        partnerIds: run.details.partnerIds ?? [],
      },
      (v) => client.escapeLiteral(v),
    );
    const query = run.details.format === "jsonl" ? `SELECT row_to_json(r)::text FROM (${select}) r` : select;
    const copy = client.query(copyTo(`COPY (${query}) TO STDOUT WITH (${format.options})`));
    const upload = await deps.store.create();
    let position = 0;
    const sink = new Transform({
      transform(chunk: Buffer, _enc, done) {
        upload.write(chunk, position).then(() => done(), done);
        position += chunk.length;
      },
    });
    const ext = packedName(format.ext, compression, pgp !== null);
    const nameWith = (e: string) =>
      renderFileName(
        run.details.fileNameTemplate ?? DEFAULT_FILE_NAME_TEMPLATE,
        {
          connection: run.folder,
          report,
          periodStart: run.period_start,
          periodEnd: run.period_end,
          runId,
          ext: e,
        },
        run.time_zone,
      );
    const rendered = nameWith(ext);
    try {
      const packed = compressed(copy, compression, nameWith(format.ext));
      await pipeline(
        pgp ? await encrypted(packed, pgp, nameWith(compressedName(format.ext, compression))) : packed,
        sink,
      );
    } catch (err) {
      await upload.abort();
      throw err;
    }
    const object = await upload.commit();
    const fileName = await uniqueName(client, run.connection_id, rendered, ext);
    const transferId = newId();
    await client.query(
      `INSERT INTO transfers (id, account_id, connection_id, direction, file_name, store_key, size, sha256, status,
         protocol, rows_total, rows_ok, rows_error, rows_duplicate, processed_at)
       VALUES ($1, $2, $3, 'outbound', $4, $5, $6, $7, 'generated', $9, $8, $8, 0, 0, clock_timestamp())`,
      [
        transferId,
        run.account_id,
        run.connection_id,
        fileName,
        object.key,
        object.size,
        object.sha256,
        copy.rowCount,
        run.trigger === "manual" ? "manual" : "schedule",
      ],
    );
    await client.query(
      "UPDATE report_runs SET status = 'generated', transfer_id = $2, rows = $3, finished_at = clock_timestamp() WHERE id = $1",
      [runId, transferId, copy.rowCount],
    );
    if (deps.queue) {
      await emitEvent(client, deps.queue, run.account_id, "file.generated", {
        transferId,
        connectionId: run.connection_id,
        direction: "outbound",
        fileName,
        size: object.size,
        sha256: object.sha256,
        status: "generated",
        rows: { total: copy.rowCount, ok: copy.rowCount, error: 0, duplicate: 0 },
      } satisfies TransferEventData);
    }
    // An email connection's file is sent by a delivery job, committed with the file.
    if (run.method === "email" && deps.queue) await deps.queue.enqueueDelivery(client, { transferId });
    // So is a file for the customer's own server.
    const push = run.details.deliverToServer === true;
    if (push && deps.queue) await deps.queue.enqueueDelivery(client, { transferId, push: true });
    await client.query("COMMIT");
    if (run.method === "email" || push) deps.queue?.wake();
    deps.log.info(
      { runId, connectionId: run.connection_id, rows: copy.rowCount, ms: Date.now() - started },
      "file generated",
    );
    return "generated" as const;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}

/**
 * `name`, or `name_2`, `name_3`… (before the extension) when the connection already made a file of that name:
 * an outbox shows one file per name, so a template without the time (the default's is the day) made the
 * runs of an hourly schedule replace each other there, and clients missed files. Runs of one connection
 * generated at once wait for each other here (the lock ends with the transaction).
 */
async function uniqueName(
  client: pg.PoolClient,
  connectionId: string,
  name: string,
  ext: string,
): Promise<string> {
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`ferry-outbox-names:${connectionId}`]);
  const stem = name.endsWith(`.${ext}`) ? name.slice(0, -ext.length - 1) : name;
  const suffix = name.endsWith(`.${ext}`) ? `.${ext}` : "";
  const { rows } = await client.query<{ file_name: string }>(
    `SELECT file_name FROM transfers
     WHERE connection_id = $1 AND direction = 'outbound' AND (file_name = $2 OR file_name LIKE $3 ESCAPE '\\')`,
    [connectionId, name, `${stem.replace(/[\\%_]/g, "\\$&")}\\_%${suffix.replace(/[\\%_]/g, "\\$&")}`],
  );
  const taken = new Set(rows.map((r) => r.file_name));
  if (!taken.has(name)) return name;
  for (let n = 2; ; n++) {
    const candidate = `${stem}_${n}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
