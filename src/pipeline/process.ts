/**
 * Processing of one inbound Transfer: receipt, then in ONE transaction — stream the file's records through
 * the data type's stager into a temporary `stage` table (COPY), resolve (enrich, find the rows that cannot be
 * taken), apply, write the errors file and summary, mark the Transfer. A crash anywhere rolls everything back
 * and the job runs again from the start, so the data ends the same as after a clean run; a second process
 * cannot take the same Transfer while this one holds its lease (a session advisory lock).
 */

import { Readable } from "node:stream";
import type pg from "pg";
import type { Logger } from "pino";
import { inboundType } from "../datatypes/index.js";
import { FileProblem } from "../datatypes/problems.js";
import type { Context, InboundType } from "../datatypes/types.js";
import { newId } from "../db/ids.js";
import type { FileDelimiter, FileEncoding } from "../domain/connection-rules.js";
import type { Compression } from "../domain/file-names.js";
import { filesProcessed, processingSeconds, rowsProcessed } from "../telemetry.js";
import { messageOf } from "../thrown.js";
import { writeErrors } from "./errors-file.js";
import { emitEvent, type TransferEventData, transferEvent } from "./events.js";
import type { JobQueue } from "./jobs.js";
import { withLease } from "./lease.js";
import type { PgpKeyring } from "./pgp.js";
import { resultNames, type Summary, writeObject } from "./results.js";
import { type FileAccess, type ProcessLimits, type StoredFile, stage, stageInParts } from "./stage.js";

export interface ProcessDeps extends FileAccess {
  pool: pg.Pool;
  log: Logger;
  /** Where the mailing of results to an email connection's return address goes. */
  queue?: JobQueue | undefined;
  /** The accounts' PGP keys: encrypted files are decrypted, signatures checked. */
  pgp: PgpKeyring;
}

export type { ProcessLimits };

/** The lease key of a Transfer: held (session advisory lock) while a worker processes it. */
export function leaseKey(transferId: string): string {
  return `ferry-process:${transferId}`;
}

interface Loaded {
  id: string;
  account_id: string;
  connection_id: string;
  file_name: string;
  store_key: string | null;
  size: number;
  sha256: string;
  status: string;
  protocol: string;
  duplicate_of: string | null;
  created_at: Date;
  connection_name: string;
  data_type: string;
  details: {
    allOrNothing?: boolean;
    validateOnly?: boolean;
    errorsCompression?: Compression;
    encoding?: FileEncoding;
    delimiter?: FileDelimiter;
    pgpEncryption?: "accepted" | "required";
    pgpSignedBy?: string;
    returnAddress?: string;
    resultFolder?: string;
  };
  time_zone: string;
  currency: string;
}

/** A received file's statuses once processing is over (the summary file says the same). */
const FINISHED: ReadonlySet<string> = new Set(["processed", "partial", "rejected", "validated", "failed"]);

export type Outcome = "processed" | "failed" | "duplicate" | "skipped" | "busy";

/**
 * Processes a Transfer. Safe to call any number of times: a finished Transfer is skipped, one being processed
 * elsewhere is "busy". Throws only for unexpected failures (the job is retried); problems with the file itself
 * end as a `failed` Transfer with its summary.
 */
export async function processTransfer(deps: ProcessDeps, transferId: string): Promise<Outcome> {
  return withLease(deps.pool, leaseKey(transferId), (client) => run(deps, client, transferId));
}

async function run(deps: ProcessDeps, client: pg.PoolClient, transferId: string): Promise<Outcome> {
  const { rows } = await client.query<Loaded>(
    `SELECT t.id, t.account_id, t.connection_id, t.file_name, t.store_key, t.size, t.sha256, t.status,
            t.protocol, t.duplicate_of, t.created_at, c.name AS connection_name, c.data_type, c.details, a.time_zone, a.currency
     FROM transfers t JOIN connections c ON c.id = t.connection_id JOIN accounts a ON a.id = t.account_id
     WHERE t.id = $1 AND t.direction = 'inbound'`,
    [transferId],
  );
  const t = rows[0];
  if (!t) return "skipped";
  const log = deps.log.child({ transferId, connectionId: t.connection_id });
  const names = resultNames(t.file_name, t.details.errorsCompression ?? "none");
  if (FINISHED.has(t.status)) return "skipped";
  const startedAt = new Date();
  if (t.status === "duplicate") {
    const summaryExists = await client.query(
      "SELECT 1 FROM result_files WHERE transfer_id = $1 AND kind = 'summary'",
      [t.id],
    );
    if (summaryExists.rowCount) return "skipped";
  } else {
    await client.query(
      `UPDATE transfers SET status = 'processing', attempts = attempts + 1, processing_started_at = now(),
         validate_only = $2, updated_at = now() WHERE id = $1`,
      [t.id, t.details.validateOnly === true],
    );
  }
  await writeReceipt(deps, client, t, names.receipt);

  const base: Omit<
    Summary,
    "status" | "rows" | "applied" | "error" | "errorsFile" | "warnings" | "finishedAt"
  > = {
    transferId: t.id,
    traceId: t.id,
    file: t.file_name,
    sha256: t.sha256,
    size: t.size,
    connection: { id: t.connection_id, name: t.connection_name },
    dataType: t.data_type,
    validateOnly: t.details.validateOnly === true,
    allOrNothing: t.details.allOrNothing === true,
    receivedAt: t.created_at.toISOString(),
    startedAt: startedAt.toISOString(),
  };
  const noRows = { total: 0, ok: 0, error: 0, duplicate: 0 };

  if (t.status === "duplicate") {
    const summary: Summary = {
      ...base,
      status: "duplicate",
      rows: noRows,
      applied: 0,
      error: {
        code: "DUPLICATE_FILE",
        message: `The same file (SHA-256) was received before as transfer ${t.duplicate_of}`,
      },
      errorsFile: null,
      warnings: [],
      finishedAt: new Date().toISOString(),
    };
    await finish(deps, client, t, names.summary, summary, null);
    counted(summary, startedAt);
    return "duplicate";
  }

  const type = inboundType(t.data_type);
  const ctx: Context = {
    accountId: t.account_id,
    transferId: t.id,
    connectionId: t.connection_id,
    connectionName: t.connection_name,
    timeZone: t.time_zone,
    currency: t.currency,
  };
  // Says which node works on the file (with "file processed", how long it took there).
  log.info({ file: t.file_name }, "processing file");
  await client.query("BEGIN");
  try {
    await client.query("SELECT set_config('TimeZone', $1, true)", [t.time_zone]);
    // Set-based steps hash and sort whole files: enough memory that they stay off disk (at 64 MB, the
    // duplicate-order aggregate and the sort by line of a million-row file spilled: 1.3 s and 1.1 s).
    await client.query("SET LOCAL work_mem = '256MB'");
    const timings: Record<string, number> = {};
    const file = {
      storeKey: t.store_key,
      fileName: t.file_name,
      encoding: t.details.encoding,
      delimiter: t.details.delimiter,
      pgp: {
        keyring: deps.pgp,
        accountId: t.account_id,
        required: t.details.pgpEncryption === "required",
        signedBy: t.details.pgpSignedBy,
      },
    };
    // Validating, or all or nothing: every row is judged before anything is applied. Otherwise rows are
    // applied as resolved, and checks a unique key makes anyway are left to it (see trustUniqueKeys).
    const judgeFirst = t.details.validateOnly === true || t.details.allOrNothing === true;
    const done =
      !judgeFirst && type.inParts
        ? await applyInParts(deps, client, file, type, ctx, log)
        : await applyWhole(deps, client, file, type, ctx, log, t.details);
    const { staged, counts, refused, applied } = done;
    Object.assign(timings, done.timings);
    for (const [name, ms] of Object.entries(staged.timings)) timings[`stage.${name}`] = ms;
    let errorsFile: { key: string; size: number } | null = null;
    const errorsStarted = Date.now();
    if (counts.ok < counts.total) {
      errorsFile = await writeErrors(deps, client, file, type, staged.binding, {
        compression: t.details.errorsCompression ?? "none",
        csvName: names.errorsCsv,
        table: done.errorsTable,
      });
    }
    timings.errorsMs = Date.now() - errorsStarted;
    const warnings = staged.binding.unknown.length
      ? [`Unknown columns, ignored: ${staged.binding.unknown.join(", ")}`]
      : [];
    const summary: Summary = {
      ...base,
      status: refused
        ? "failed"
        : t.details.validateOnly
          ? "validated"
          : counts.ok === counts.total
            ? "processed"
            : counts.ok > 0
              ? "partial"
              : "rejected",
      rows: counts,
      applied,
      error: refused
        ? {
            code: "ROWS_FAILED",
            message: `${counts.total - counts.ok} of ${counts.total} rows cannot be taken; nothing was applied (the connection is all or nothing)`,
          }
        : null,
      errorsFile: errorsFile ? names.errors : null,
      warnings,
      finishedAt: new Date().toISOString(),
      timings,
    };
    if (errorsFile) await registerResult(client, t, "errors", names.errors, errorsFile);
    await finish(deps, client, t, names.summary, summary, counts);
    await client.query("COMMIT");
    counted(summary, startedAt);
    log.info({ rows: counts, applied, ms: Date.now() - startedAt.getTime() }, "file processed");
    if (applied >= ANALYZE_AFTER) await analyze(client, type.tables, applied, log);
    return refused ? "failed" : "processed";
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    if (!(err instanceof FileProblem)) throw err;
    log.info({ code: err.code, reason: err.message }, "file refused");
    const summary: Summary = {
      ...base,
      status: "failed",
      rows: noRows,
      applied: 0,
      error: { code: err.code, message: err.message },
      errorsFile: null,
      warnings: [],
      finishedAt: new Date().toISOString(),
    };
    await finish(deps, client, t, names.summary, summary, null);
    counted(summary, startedAt);
    return "failed";
  }
}

/** A file's outcome in the process's metrics, once committed. */
function counted(summary: Summary, startedAt: Date): void {
  const dataType = summary.dataType;
  filesProcessed.inc({ data_type: dataType, status: summary.status });
  for (const result of ["ok", "error", "duplicate"] as const) {
    if (summary.rows[result] > 0) rowsProcessed.inc({ data_type: dataType, result }, summary.rows[result]);
  }
  processingSeconds.observe({ data_type: dataType }, (Date.now() - startedAt.getTime()) / 1000);
}

/** What staging, resolving and applying a file came to. */
interface Applied {
  staged: Awaited<ReturnType<typeof stage>>;
  counts: Summary["rows"];
  /** All or nothing, and a row cannot be taken: nothing was applied. */
  refused: boolean;
  applied: number;
  /** Milliseconds per phase. */
  timings: Record<string, number>;
  /** The table of the rows not taken (line, last_line, error_type, error_message), for the errors file. */
  errorsTable: string;
}

/** The whole file staged, then resolved, then applied (unless validating, or all or nothing refuses it). */
async function applyWhole(
  deps: ProcessDeps,
  client: pg.PoolClient,
  file: StoredFile,
  type: InboundType,
  ctx: Context,
  log: Logger,
  details: Loaded["details"],
): Promise<Applied> {
  const timings: Record<string, number> = {};
  let mark = Date.now();
  const lap = (name: string) => {
    const now = Date.now();
    timings[name] = now - mark;
    mark = now;
  };
  const staged = await stage(deps, client, file, type, ctx);
  lap("stageMs");
  const judgeFirst = details.validateOnly === true || details.allOrNothing === true;
  await type.resolve(client, ctx, { trustUniqueKeys: !judgeFirst });
  lap("resolveMs");
  let counts: Summary["rows"];
  let refused = false;
  let applied = 0;
  if (judgeFirst) {
    counts = await countRows(client);
    refused = details.allOrNothing === true && counts.ok < counts.total;
    if (details.validateOnly !== true && !refused) applied = await type.apply(client, ctx);
  } else {
    applied = (await applyOrResolveAgain(client, type, ctx, log, true)).applied;
    counts = await countRows(client);
  }
  lap("applyMs");
  return { staged, counts, refused, applied, timings, errorsTable: "resolved" };
}

/**
 * The file staged, resolved and applied a part at a time (see InboundType.inParts), in its one transaction:
 * the next part is read meanwhile. Rows not taken are gathered in `file_errors`. Once a unique key objects
 * (an order repeated, or recorded before), the rest of the file is resolved with every check.
 */
async function applyInParts(
  deps: ProcessDeps,
  client: pg.PoolClient,
  file: StoredFile,
  type: InboundType,
  ctx: Context,
  log: Logger,
): Promise<Applied> {
  await client.query(
    `CREATE TEMP TABLE file_errors (line int, last_line int, rows int, error_type text, error_message text)
     ON COMMIT DROP`,
  );
  const timings = { resolveMs: 0, applyMs: 0, gatherMs: 0 };
  let applied = 0;
  let trust = true;
  const staged = await stageInParts(deps, client, file, type, ctx, async () => {
    let mark = Date.now();
    await type.resolve(client, ctx, { trustUniqueKeys: trust });
    timings.resolveMs += Date.now() - mark;
    mark = Date.now();
    const part = await applyOrResolveAgain(client, type, ctx, log, trust);
    applied += part.applied;
    trust = part.trusted;
    timings.applyMs += Date.now() - mark;
    mark = Date.now();
    await client.query(
      `INSERT INTO file_errors SELECT line, last_line, rows, error_type, error_message FROM resolved
       WHERE error_type IS NOT NULL`,
    );
    await client.query("DROP TABLE resolved");
    timings.gatherMs += Date.now() - mark;
  });
  // Every line read is a row of one part; the rows not taken are in file_errors.
  const { rows } = await client.query<{ duplicate: number; error: number }>(
    `SELECT coalesce(sum(rows) FILTER (WHERE error_type = 'DUPLICATE'), 0)::int AS duplicate,
            coalesce(sum(rows) FILTER (WHERE error_type <> 'DUPLICATE'), 0)::int AS error
     FROM file_errors`,
  );
  const { duplicate, error } = rows[0]!;
  return {
    staged,
    counts: { total: staged.lines, ok: staged.lines - duplicate - error, error, duplicate },
    refused: false,
    applied,
    timings: { stageMs: (staged.timings.copyMs ?? 0) + (staged.timings.analyseMs ?? 0), ...timings },
    errorsTable: "file_errors",
  };
}

/** The rows of `resolved`: in all, taken, duplicates, and other errors. */
async function countRows(client: pg.ClientBase): Promise<Summary["rows"]> {
  const { rows } = await client.query(
    `SELECT coalesce(sum(rows), 0)::int AS total,
            coalesce(sum(rows) FILTER (WHERE error_type IS NULL), 0)::int AS ok,
            coalesce(sum(rows) FILTER (WHERE error_type = 'DUPLICATE'), 0)::int AS duplicate,
            coalesce(sum(rows) FILTER (WHERE error_type IS NOT NULL AND error_type <> 'DUPLICATE'), 0)::int AS error
     FROM resolved`,
  );
  return rows[0] as Summary["rows"];
}

/**
 * Applies what was resolved trusting the unique keys; if one objects (a row repeated in the file, or a
 * concurrent file recording the same object first), undoes the attempt and resolves again with every check.
 */
async function applyOrResolveAgain(
  client: pg.ClientBase,
  type: InboundType,
  ctx: Context,
  log: Logger,
  trusted: boolean,
): Promise<{ applied: number; trusted: boolean }> {
  if (!trusted) return { applied: await type.apply(client, ctx), trusted };
  await client.query("SAVEPOINT apply");
  try {
    const applied = await type.apply(client, ctx);
    await client.query("RELEASE SAVEPOINT apply");
    return { applied, trusted };
  } catch (err) {
    if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
    log.info({ reason: messageOf(err) }, "a unique key objected; resolving again with every check");
    await client.query("ROLLBACK TO SAVEPOINT apply");
    await client.query("DROP TABLE resolved");
    await type.resolve(client, ctx, { trustUniqueKeys: false });
    return { applied: await type.apply(client, ctx), trusted: false };
  }
}

const UNIQUE_VIOLATION = "23505";

/**
 * Objects changed by one file from which the tables it wrote are analysed at once (see InboundType.tables),
 * if they are also this share of what the table's statistics know of: a file that adds little to a large table
 * leaves its statistics true enough (autovacuum's own threshold is 10 %), and an ANALYZE after every 10,000-row
 * file of a busy platform kept a worker from the next file for as long as the file itself took.
 */
const ANALYZE_AFTER = 10_000;
const ANALYZE_SHARE = 0.1;

async function analyze(
  client: pg.ClientBase,
  tables: readonly string[],
  applied: number,
  log: Logger,
): Promise<void> {
  // The file is committed: statistics that fail to refresh only leave the work to autovacuum.
  try {
    const { rows } = await client.query<{ table: string }>(
      `SELECT relname AS table FROM pg_class
       WHERE relname = ANY($1) AND relkind = 'r' AND relnamespace = to_regnamespace(current_schema())
         AND $2 >= $3 * greatest(reltuples, 0)`,
      [tables, applied, ANALYZE_SHARE],
    );
    for (const { table } of rows) await client.query(`ANALYZE ${table}`);
  } catch (err) {
    log.warn({ tables, err }, "analyze failed");
  }
}

/** Marks a Transfer as failed after its last retry, so that it does not stay "processing" forever. */
export async function giveUp(pool: pg.Pool, transferId: string, reason: string): Promise<void> {
  await pool.query(
    `UPDATE transfers SET status = 'failed', error = $2, processed_at = now(), updated_at = now()
     WHERE id = $1 AND status IN ('received', 'processing')`,
    [transferId, `Processing failed repeatedly: ${reason}`],
  );
}

async function writeReceipt(
  deps: ProcessDeps,
  client: pg.PoolClient,
  t: Loaded,
  name: string,
): Promise<void> {
  const exists = await client.query(
    "SELECT 1 FROM result_files WHERE transfer_id = $1 AND kind = 'receipt'",
    [t.id],
  );
  if (exists.rowCount) return;
  const text = [
    `Receipt for ${t.file_name}`,
    `Trace id: ${t.id}`,
    `Connection: ${t.connection_name}`,
    `Received: ${t.created_at.toISOString()}`,
    `Size: ${t.size} bytes`,
    `SHA-256: ${t.sha256}`,
    t.status === "duplicate" ? `Duplicate of: ${t.duplicate_of}` : "Status: received, processing",
    "",
  ].join("\n");
  const object = await writeObject(deps.store, Readable.from([Buffer.from(text)]));
  await registerResult(client, t, "receipt", name, object);
}

async function registerResult(
  client: pg.ClientBase,
  t: Loaded,
  kind: "receipt" | "summary" | "errors",
  fileName: string,
  object: { key: string; size: number },
): Promise<void> {
  await client.query(
    `INSERT INTO result_files (id, account_id, connection_id, transfer_id, kind, file_name, store_key, size, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
     ON CONFLICT (transfer_id, kind) DO UPDATE SET store_key = excluded.store_key, size = excluded.size,
       file_name = excluded.file_name, created_at = excluded.created_at`,
    [newId(), t.account_id, t.connection_id, t.id, kind, fileName, object.key, object.size],
  );
}

/** Writes the summary and records the outcome on the Transfer (inside the caller's transaction, if any). */
async function finish(
  deps: ProcessDeps,
  client: pg.ClientBase,
  t: Loaded,
  name: string,
  summary: Summary,
  counts: Summary["rows"] | null,
): Promise<void> {
  const object = await writeObject(
    deps.store,
    Readable.from([Buffer.from(`${JSON.stringify(summary, null, 2)}\n`)]),
  );
  await registerResult(client, t, "summary", name, object);
  await client.query(
    // clock_timestamp(): now() would be the start of the processing transaction.
    `UPDATE transfers SET status = $2, error = $3, rows_total = $4, rows_ok = $5, rows_error = $6,
       rows_duplicate = $7, processed_at = clock_timestamp(), updated_at = clock_timestamp() WHERE id = $1`,
    [
      t.id,
      summary.status,
      summary.error ? `${summary.error.code}: ${summary.error.message}` : null,
      counts?.total ?? null,
      counts?.ok ?? null,
      counts?.error ?? null,
      counts?.duplicate ?? null,
    ],
  );
  // Webhooks hear how it ended (a duplicate was told when it arrived), with the same commit.
  const type = summary.status === "duplicate" ? null : transferEvent(summary.status);
  if (type && deps.queue) {
    await emitEvent(client, deps.queue, t.account_id, type, {
      transferId: t.id,
      connectionId: t.connection_id,
      direction: "inbound",
      fileName: t.file_name,
      size: t.size,
      sha256: t.sha256,
      status: summary.status,
      rows: counts,
      error: summary.error ? `${summary.error.code}: ${summary.error.message}` : null,
    } satisfies TransferEventData);
  }
  // Email senders get their results back at the connection's return address, once this commits.
  if (t.details.returnAddress && deps.queue) {
    await deps.queue.enqueueDelivery(client, { transferId: t.id, results: true });
  }
  // Pulled files get theirs uploaded to the connection's result folder on the customer's server.
  if (t.details.resultFolder && t.protocol === "pull" && deps.queue) {
    await deps.queue.enqueueDelivery(client, { transferId: t.id, results: true, remote: true });
  }
}
