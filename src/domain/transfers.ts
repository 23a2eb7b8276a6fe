/** Transfers as their owners see them: the immutable history of every file through a connection. */
import { type Kysely, type Selectable, type SelectQueryBuilder, sql } from "kysely";
import { isId, keyAt } from "../db/ids.js";
import type { Database, ResultKind, TransferStatus, TransfersTable } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { invalid, notFound } from "./errors.js";
import { ownedBy } from "./owned.js";
import { type Page, type PageRequest, pageBounds, toPage } from "./page.js";

export interface Transfer {
  id: string;
  connectionId: string;
  direction: "inbound" | "outbound";
  fileName: string;
  size: number;
  sha256: string;
  status: TransferStatus;
  protocol: string;
  /** The credential that sent or fetched it, and its username. */
  credentialId: string | null;
  username: string | null;
  remoteIp: string | null;
  duplicateOf: string | null;
  /** The transfer whose file this one processes again (reprocessing, or a duplicate accepted). */
  reprocessOf: string | null;
  error: string | null;
  /** Whether the original bytes are still kept (retention may remove them; the record stays). */
  contentAvailable: boolean;
  /** Row counts once processed: every data row, taken, refused, duplicates. */
  rows: { total: number; ok: number; error: number; duplicate: number } | null;
  validateOnly: boolean;
  attempts: number;
  processedAt: Date | null;
  downloadCount: number;
  firstDownloadedAt: Date | null;
  lastDownloadedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Its result files (receipt, summary, errors), in the order they were written. */
  results: ResultFile[];
}

/** Statuses of files with failures: some or every row refused, unreadable, or not delivered. */
export const FAILURE_STATUSES: TransferStatus[] = ["partial", "rejected", "failed", "delivery_failed"];

export interface TransferFilter extends PageRequest {
  status?: TransferStatus | undefined;
  /** Only files with failures (FAILURE_STATUSES). */
  failed?: boolean | undefined;
  /** Also count every transfer the filter matches. */
  withTotal?: boolean | undefined;
  /** Created at or after. */
  since?: Date | undefined;
  /** Created before. */
  until?: Date | undefined;
  /** Oldest first (default) or newest first. */
  order?: "asc" | "desc" | undefined;
}

type Row = Selectable<TransfersTable> & {
  username: string | null;
  results: {
    kind: ResultKind;
    fileName: string;
    size: number;
    createdAt: string;
    contentAvailable: boolean;
  }[];
};

function toTransfer(r: Row): Transfer {
  return {
    id: r.id,
    connectionId: r.connection_id,
    direction: r.direction,
    fileName: r.file_name,
    size: r.size,
    sha256: r.sha256,
    status: r.status,
    protocol: r.protocol,
    credentialId: r.credential_id,
    username: r.username,
    remoteIp: r.remote_ip,
    duplicateOf: r.duplicate_of,
    reprocessOf: r.reprocess_of,
    error: r.error,
    contentAvailable: r.store_key !== null,
    rows:
      r.rows_total === null
        ? null
        : {
            total: r.rows_total,
            ok: r.rows_ok ?? 0,
            error: r.rows_error ?? 0,
            duplicate: r.rows_duplicate ?? 0,
          },
    validateOnly: r.validate_only,
    attempts: r.attempts,
    processedAt: r.processed_at,
    downloadCount: r.download_count,
    firstDownloadedAt: r.first_downloaded_at,
    lastDownloadedAt: r.last_downloaded_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    results: (r.results ?? []).map((f) => ({ ...f, createdAt: new Date(f.createdAt) })),
  };
}

function selectRows(db: Kysely<Database>, accountId: string) {
  return (
    db
      .selectFrom("transfers as t")
      .leftJoin("credentials as k", "k.id", "t.credential_id")
      .selectAll("t")
      .select("k.username")
      // Its result files with it: a history page is one request, not one more per row.
      .select(
        sql<Row["results"]>`(
          SELECT coalesce(json_agg(json_build_object('kind', r.kind, 'fileName', r.file_name, 'size', r.size,
                   'createdAt', r.created_at, 'contentAvailable', r.store_key IS NOT NULL) ORDER BY r.created_at), '[]')
          FROM result_files r WHERE r.transfer_id = t.id)`.as("results"),
      )
      .where("t.account_id", "=", accountId)
  );
}

/** The transfers of one of the actor's connections, oldest first, a page at a time. */
export async function listTransfers(
  db: Kysely<Database>,
  actor: Actor,
  connectionId: string,
  filter: TransferFilter = {},
): Promise<Page<Transfer> & { total?: number }> {
  if (!(await ownedBy(db, "connections", actor.accountId, connectionId))) throw notFound("Connection");
  if (filter.since && filter.until && filter.since >= filter.until) {
    throw invalid([{ path: "until", message: "must be after since" }]);
  }
  const { limit, after } = pageBounds(filter);
  const desc = filter.order === "desc";
  const filtered = <Q extends SelectQueryBuilder<Database & { t: TransfersTable }, "t", object>>(q: Q): Q => {
    let f = q.where("t.connection_id", "=", connectionId) as Q;
    if (filter.status) f = f.where("t.status", "=", filter.status) as Q;
    if (filter.failed) f = f.where("t.status", "in", FAILURE_STATUSES) as Q;
    if (filter.since) f = f.where("t.created_at", ">=", filter.since) as Q;
    if (filter.until) f = f.where("t.created_at", "<", filter.until) as Q;
    return f;
  };
  let q = filtered(selectRows(db, actor.accountId))
    .orderBy("t.id", desc ? "desc" : "asc")
    .limit(limit + 1);
  if (after) q = q.where("t.id", desc ? "<" : ">", after);
  const page = toPage(await q.execute(), limit, toTransfer);
  if (!filter.withTotal) return page;
  const counted = await filtered(db.selectFrom("transfers as t").where("t.account_id", "=", actor.accountId))
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .executeTakeFirstOrThrow();
  return { ...page, total: Number(counted.n) };
}

async function findRow(db: Kysely<Database>, actor: Actor, id: string): Promise<Row> {
  if (!isId(id)) throw notFound("Transfer");
  const row = await selectRows(db, actor.accountId).where("t.id", "=", id).executeTakeFirst();
  if (!row) throw notFound("Transfer");
  return row;
}

/** Counts a download of a generated file: first/last time, count, and status `downloaded`. */
export async function countDownload(db: Kysely<Database>, accountId: string, id: string): Promise<void> {
  const now = new Date();
  await db
    .updateTable("transfers")
    .set((eb) => ({
      download_count: eb("download_count", "+", 1),
      first_downloaded_at: eb.fn.coalesce("first_downloaded_at", eb.val(now)),
      last_downloaded_at: now,
      status: eb
        .case()
        .when("status", "in", ["generated", "delivered"])
        .then("downloaded" as const)
        .else(eb.ref("status"))
        .end(),
      updated_at: now,
    }))
    .where("account_id", "=", accountId)
    .where("id", "=", id)
    .execute();
}

/** One transfer of the actor's account. */
export async function getTransfer(db: Kysely<Database>, actor: Actor, id: string): Promise<Transfer> {
  return toTransfer(await findRow(db, actor, id));
}

/** A file Ferry wrote about an inbound transfer: receipt, summary, errors. */
export interface ResultFile {
  kind: ResultKind;
  fileName: string;
  size: number;
  createdAt: Date;
  /** Whether its bytes are still kept (retention removes them; the record stays). */
  contentAvailable: boolean;
}

/** The result files of one of the actor's transfers. */
export async function listResultFiles(db: Kysely<Database>, actor: Actor, id: string): Promise<ResultFile[]> {
  await findRow(db, actor, id);
  const rows = await db
    .selectFrom("result_files")
    .select(["kind", "file_name", "size", "created_at", "store_key"])
    .where("account_id", "=", actor.accountId)
    .where("transfer_id", "=", id)
    .orderBy("created_at")
    .execute();
  return rows.map((r) => ({
    kind: r.kind,
    fileName: r.file_name,
    size: r.size,
    createdAt: r.created_at,
    contentAvailable: r.store_key !== null,
  }));
}

/**
 * The store key of a transfer's original file (or one of its result files) for download through the API,
 * audited; downloading a generated outbound file counts as its download.
 */
export async function openTransferFile(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
  which: "content" | ResultKind,
): Promise<{ transfer: Transfer; key: string; fileName: string }> {
  const row = await findRow(db, actor, id);
  let key: string | null = row.store_key;
  let fileName = row.file_name;
  let expired = which === "content";
  if (which !== "content") {
    const result = await db
      .selectFrom("result_files")
      .select(["store_key", "file_name"])
      .where("account_id", "=", actor.accountId)
      .where("transfer_id", "=", id)
      .where("kind", "=", which)
      .executeTakeFirst();
    key = result?.store_key ?? null;
    fileName = result?.file_name ?? fileName;
    expired = result !== undefined;
  }
  if (!key) {
    throw notFound(
      expired
        ? `The ${which === "content" ? "file's content" : `${which} file`} (removed by the retention policy)`
        : which === "errors"
          ? "An errors file (there is one only when rows were refused, once the file is processed)"
          : `A ${which} (it is written when the file is processed)`,
    );
  }
  if (which === "content" && row.direction === "outbound") await countDownload(db, actor.accountId, id);
  await audit(
    db,
    actor,
    "transfer.downloaded",
    { type: "transfer", id },
    { which, fileName, protocol: "http" },
  );
  return { transfer: toTransfer(row), key, fileName };
}

/** Files and rows of one day, in the account's time zone. */
export interface DayActivity {
  day: string;
  files: number;
  /** Files with some rows refused. */
  partial: number;
  /** Files rejected (every row refused), failed, or not delivered. */
  failed: number;
  rowsOk: number;
  rowsError: number;
}

/** Per day over the last `days` days (today included, account time zone): files and rows of a connection. */
export async function dailyActivity(
  db: Kysely<Database>,
  actor: Actor,
  connectionId: string,
  days: number,
): Promise<DayActivity[]> {
  if (!(await ownedBy(db, "connections", actor.accountId, connectionId))) throw notFound("Connection");
  const r = await sql<{
    day: string;
    files: string;
    partial: string;
    failed: string;
    rows_ok: string;
    rows_error: string;
  }>`
    WITH tz AS (SELECT time_zone FROM accounts WHERE id = ${actor.accountId}),
    days AS (
      SELECT generate_series(
        (now() AT TIME ZONE (SELECT time_zone FROM tz))::date - ${days - 1}::int,
        (now() AT TIME ZONE (SELECT time_zone FROM tz))::date,
        interval '1 day'
      )::date AS day
    ),
    -- The connection's recent transfers only: ids are time-ordered, so the id index gives the range (a day
    -- of margin for a transaction's start before its id was made).
    recent AS (
      SELECT (t.created_at AT TIME ZONE (SELECT time_zone FROM tz))::date AS day,
             count(*) AS files,
             count(*) FILTER (WHERE t.status = 'partial') AS partial,
             count(*) FILTER (WHERE t.status IN ('rejected', 'failed', 'delivery_failed')) AS failed,
             coalesce(sum(t.rows_ok), 0) AS rows_ok,
             coalesce(sum(t.rows_error), 0) AS rows_error
      FROM transfers t
      WHERE t.account_id = ${actor.accountId} AND t.connection_id = ${connectionId}
        AND t.id >= ${keyAt(new Date(Date.now() - (days + 2) * 86_400_000))}::uuid
        AND t.created_at >= now() - make_interval(days => ${days + 1})
      GROUP BY 1
    )
    SELECT to_char(d.day, 'YYYY-MM-DD') AS day,
           coalesce(r.files, 0) AS files,
           coalesce(r.partial, 0) AS partial,
           coalesce(r.failed, 0) AS failed,
           coalesce(r.rows_ok, 0) AS rows_ok,
           coalesce(r.rows_error, 0) AS rows_error
    FROM days d LEFT JOIN recent r ON r.day = d.day
    ORDER BY d.day`.execute(db);
  return r.rows.map((x) => ({
    day: x.day,
    files: Number(x.files),
    partial: Number(x.partial),
    failed: Number(x.failed),
    rowsOk: Number(x.rows_ok),
    rowsError: Number(x.rows_error),
  }));
}
