/**
 * Connections: configured data feeds. Created once with an immutable direction, data type, method and
 * methodology; edited (name, credential, details), disabled and re-enabled; never deleted. Every change is
 * audited. Secrets in details are sealed with the master key and never returned.
 */

import { randomBytes } from "node:crypto";
import { type Kysely, type Selectable, sql, type Updateable } from "kysely";
import { isId, newId } from "../db/ids.js";
import type { ConnectionsTable, Database } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import {
  type DataType,
  type Direction,
  type Method,
  type Methodology,
  SECRET_DETAILS,
  validateConnection,
} from "./connection-rules.js";
import { DomainError, invalid, isUniqueViolation, notFound } from "./errors.js";
import {
  type Compression,
  DEFAULT_FILE_NAME_TEMPLATE,
  FORMAT_EXT,
  packedName,
  renderFileName,
} from "./file-names.js";
import { ownedBy } from "./owned.js";
import { type Page, type PageRequest, pageBounds, toPage } from "./page.js";
import { checkPartnerKey } from "./pgp-keys.js";
import type { SecretBox } from "./secretbox.js";
import { connectionStorage } from "./storage.js";

export type ConnectionStatus = "active" | "disabled";

/** A connection as the API shows it. */
export interface Connection {
  id: string;
  name: string;
  direction: Direction;
  dataType: DataType;
  method: Method;
  methodology: Methodology;
  credentialId: string | null;
  /** Its folder in the SFTP/FTP view of its credential; stable across renames. */
  folder: string;
  /** Where a client connects, e.g. `sftp://user@host:2222/folder/`; null when Ferry is the client. */
  address: string | null;
  /**
   * The same, apart, for the people who set up the client (SFTP/FTP connections the client logs in to):
   * host, port, username, and the folder it uploads to (inbox/) or downloads from (outbox/).
   */
  login: { host: string; port: number; username: string; path: string } | null;
  /** Outbound: what its template makes of yesterday's file, e.g. `weekly-listing_20261201.tsv.gz`. */
  exampleFileName: string | null;
  status: ConnectionStatus;
  /** Method details; secrets appear only as `<name>Set: true`. */
  details: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  statusChangedAt: Date;
  /** From its latest transfer or run. */
  activity: { status: ActivityStatus; lastActiveAt: Date | null; problem: ActivityProblem | null };
  /**
   * Days its files (and, inbound, its result files) are kept: its own setting (null: the account's), and what
   * applies (its own, else the account's, else the server's).
   */
  retention: {
    days: number | null;
    resultDays: number | null;
    effectiveDays: number;
    effectiveResultDays: number | null;
  };
  /** What it keeps in the store now: its files (received or generated, staged uploads included), results. */
  storage: { files: number; bytes: number; resultFiles: number; resultBytes: number };
}

export interface NewConnection {
  name: string;
  direction: Direction;
  dataType: DataType;
  method: Method;
  methodology: Methodology;
  credentialId?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
}

/** A change: details are merged into the stored ones key by key; a null value removes a setting. */
export interface ConnectionChange {
  name?: string | undefined;
  credentialId?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
  /** Days its files are kept; null: the account's setting. */
  retentionDays?: number | null | undefined;
  /** Inbound: days its result files are kept; null: the account's setting. */
  resultRetentionDays?: number | null | undefined;
}

export interface ConnectionFilter extends PageRequest {
  direction?: Direction | undefined;
  dataType?: DataType | undefined;
  method?: Method | undefined;
  methodology?: Methodology | undefined;
  status?: ConnectionStatus | undefined;
  credentialId?: string | undefined;
}

/** Where Ferry's servers are reached, for connection addresses. */
export interface Endpoints {
  publicHost: string;
  sftpPort: number;
  ftpPort: number;
  /** The domain of inbound email connections' addresses. */
  emailDomain: string;
}

/** Days each kind of file is kept when neither its connection nor its account says (FERRY_*RETENTION_DAYS). */
export interface RetentionDefaults {
  inbound: number;
  results: number;
  outbound: number;
}
export const DEFAULT_RETENTION: RetentionDefaults = { inbound: 90, results: 90, outbound: 30 };

/** What the connection functions need besides the actor. */
export interface ConnectionDeps {
  db: Kysely<Database>;
  box: SecretBox;
  endpoints: Endpoints;
  /** The server's retention defaults, to say how long a connection's files are kept. */
  retention?: RetentionDefaults | undefined;
}

type Row = Selectable<ConnectionsTable> & {
  username: string | null;
  last_transfer_status: string | null;
  last_transfer_at: Date | null;
  last_transfer_error: string | null;
  last_transfer_file: string | null;
  last_run_status: string | null;
  last_run_at: Date | null;
  last_run_error: string | null;
  last_run_kind: "run" | "pull" | null;
  storage: Record<string, [number, number]> | null;
  account_inbound_days: number | null;
  account_result_days: number | null;
  account_outbound_days: number | null;
  account_time_zone: string;
};

/** What a Partial or Failed status is about: the latest file, run or pull, and its error in words. */
export interface ActivityProblem {
  source: "file" | "run" | "pull";
  /** The file's status (partial, rejected, failed, delivery_failed) or the run's / pull's (failed). */
  status: string;
  fileName: string | null;
  error: string | null;
}

/**
 * What a connection did last: None / In Progress / Completed / Partial (its latest file had refused rows) /
 * Failed (its latest file was rejected or failed, its latest file could not be delivered, or its latest run
 * or pull failed).
 */
export type ActivityStatus = "none" | "in_progress" | "completed" | "partial" | "failed";
const SEALED = "Sealed";

/** 10 random lower-case letters and digits. */
function randomMailboxSuffix(): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join("");
}

/** A folder name from a connection name: lower-case letters, digits, `.`, `_` and `-`, at most 64. */
export function folderName(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-._]+|-+$/g, "")
    .slice(0, 56)
    .replace(/[-._]+$/, "");
  return slug || "connection";
}

function addressOf(r: Row, endpoints: Endpoints): string | null {
  if (r.method === "email") return r.mailbox ? `${r.mailbox}@${endpoints.emailDomain}` : null;
  if (r.methodology === "pull_from_third_party" || !r.username) return null;
  const port = r.method === "sftp" ? endpoints.sftpPort : endpoints.ftpPort;
  return `${r.method}://${r.username}@${endpoints.publicHost}:${port}/${r.folder}/`;
}

/** An outbound connection's file name for yesterday's period, as its template renders it. */
function exampleFileName(r: Row): string | null {
  if (r.direction !== "outbound") return null;
  const d = r.details as {
    format?: keyof typeof FORMAT_EXT;
    compression?: Compression;
    fileNameTemplate?: string;
    report?: string;
    pgpEncryptTo?: string;
  };
  const now = Date.now();
  return renderFileName(
    d.fileNameTemplate ?? DEFAULT_FILE_NAME_TEMPLATE,
    {
      connection: r.folder,
      report: d.report ?? r.data_type,
      periodStart: new Date(now - 86_400_000),
      periodEnd: new Date(now),
      runId: "0000000000000",
      ext: packedName(FORMAT_EXT[d.format ?? "csv"], d.compression ?? "none", Boolean(d.pgpEncryptTo)),
    },
    r.account_time_zone,
  );
}

function loginOf(r: Row, endpoints: Endpoints): Connection["login"] {
  if (r.method === "email" || r.methodology === "pull_from_third_party" || !r.username) return null;
  return {
    host: endpoints.publicHost,
    port: r.method === "sftp" ? endpoints.sftpPort : endpoints.ftpPort,
    username: r.username,
    path: `/${r.folder}/${r.direction === "inbound" ? "inbox" : "outbox"}/`,
  };
}

function toConnection(r: Row, deps: ConnectionDeps): Connection {
  const retention = deps.retention ?? DEFAULT_RETENTION;
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(r.details)) {
    if (key.endsWith(SEALED)) details[`${key.slice(0, -SEALED.length)}Set`] = true;
    else details[key] = value;
  }
  return {
    id: r.id,
    name: r.name,
    direction: r.direction,
    dataType: r.data_type as DataType,
    method: r.method as Method,
    methodology: r.methodology as Methodology,
    credentialId: r.credential_id,
    folder: r.folder,
    address: addressOf(r, deps.endpoints),
    login: loginOf(r, deps.endpoints),
    exampleFileName: exampleFileName(r),
    status: r.status,
    details,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    statusChangedAt: r.status_changed_at,
    activity: activityOf(r),
    retention: {
      days: r.retention_days,
      resultDays: r.result_retention_days,
      effectiveDays:
        r.retention_days ??
        (r.direction === "inbound" ? r.account_inbound_days : r.account_outbound_days) ??
        retention[r.direction],
      effectiveResultDays:
        r.direction === "inbound"
          ? (r.result_retention_days ?? r.account_result_days ?? retention.results)
          : null,
    },
    storage: storageOf(r.storage),
  };
}

/** Files and bytes per kind (storage_use) as the API shows them. */
function storageOf(use: Record<string, [number, number]> | null): Connection["storage"] {
  const of = (kind: string) => use?.[kind] ?? [0, 0];
  const [inFiles, inBytes] = of("inbound");
  const [outFiles, outBytes] = of("outbound");
  const [stagedFiles, stagedBytes] = of("staged");
  const [resultFiles, resultBytes] = of("results");
  return {
    files: Number(inFiles) + Number(outFiles) + Number(stagedFiles),
    bytes: Number(inBytes) + Number(outBytes) + Number(stagedBytes),
    resultFiles: Number(resultFiles),
    resultBytes: Number(resultBytes),
  };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 100) {
    throw invalid([{ path: "name", message: "must be 1 to 100 characters" }]);
  }
  return trimmed;
}

function nameTaken(name: string): DomainError {
  return new DomainError("CONFLICT", `A connection named "${name}" already exists in this account`, [
    { path: "name", message: "is already used by another connection (connections are never deleted)" },
  ]);
}

/** The partner PGP keys details name must be the account's, and active. */
async function checkPgpKeys(db: Kysely<Database>, actor: Actor, details: Record<string, unknown>) {
  for (const key of ["pgpSignedBy", "pgpEncryptTo"]) {
    if (typeof details[key] === "string")
      await checkPartnerKey(db, actor.accountId, details[key], `details.${key}`);
  }
}

async function checkCredential(db: Kysely<Database>, actor: Actor, credentialId: string | null | undefined) {
  if (!credentialId) return;
  if (!(await ownedBy(db, "credentials", actor.accountId, credentialId)))
    throw invalid([{ path: "credentialId", message: "no credential with this id in your account" }]);
}

/**
 * Validates details (stored sealed secrets count as present) and seals any secret given in clear.
 * `stored` are the current stored details on an update.
 */
function prepareDetails(
  deps: ConnectionDeps,
  c: Omit<NewConnection, "details" | "name">,
  given: Record<string, unknown>,
  stored: Record<string, unknown> = {},
): Record<string, unknown> {
  const sealed: Record<string, unknown> = {};
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) (key.endsWith(SEALED) ? sealed : plain)[key] = value;
  for (const [key, value] of Object.entries(given)) {
    if (value === null) {
      delete plain[key];
      delete sealed[`${key}${SEALED}`];
    } else plain[key] = value;
  }
  const result = validateConnection({
    ...c,
    details: plain,
    hasStoredPassword: `password${SEALED}` in sealed,
  });
  if (!result.ok) throw invalid(result.errors);
  const details = { ...result.details, ...sealed };
  for (const key of SECRET_DETAILS) {
    const value = details[key];
    if (typeof value === "string") details[`${key}${SEALED}`] = deps.box.seal(value);
    delete details[key];
  }
  return details;
}

/** Creates a connection in the actor's account. */
export async function createConnection(
  deps: ConnectionDeps,
  actor: Actor,
  input: NewConnection,
): Promise<Connection> {
  const { db } = deps;
  const name = checkName(input.name);
  const details = prepareDetails(deps, input, input.details ?? {});
  await checkCredential(db, actor, input.credentialId);
  await checkPgpKeys(db, actor, details);
  const id = newId();
  // The folder is the name's slug, made unique in the account with -2, -3…; a concurrent create that took
  // the same folder first makes the insert fail on the unique index, and the next free one is tried.
  for (let attempt = 0; ; attempt++) {
    try {
      await db
        .insertInto("connections")
        .values({
          id,
          account_id: actor.accountId,
          name,
          direction: input.direction,
          data_type: input.dataType,
          method: input.method,
          methodology: input.methodology,
          credential_id: input.credentialId ?? null,
          folder: await freeFolder(db, actor.accountId, folderName(name)),
          // A mailbox for inbound email: the folder plus random characters, so addresses cannot be guessed.
          mailbox:
            input.method === "email" && input.methodology === "push_to_platform"
              ? `${folderName(name).slice(0, 60)}-${randomMailboxSuffix()}`
              : null,
          details: JSON.stringify(details),
        })
        .execute();
      break;
    } catch (err) {
      if (isUniqueViolation(err, "connections_account_name")) throw nameTaken(name);
      if (isUniqueViolation(err, "connections_account_folder") && attempt < 5) continue;
      throw err;
    }
  }
  const connection = toConnection(await findRow(db, actor, id), deps);
  await audit(
    db,
    actor,
    "connection.created",
    { type: "connection", id },
    {
      name,
      folder: connection.folder,
      direction: connection.direction,
      dataType: connection.dataType,
      method: connection.method,
      methodology: connection.methodology,
      credentialId: connection.credentialId,
      details: connection.details,
    },
  );
  return connection;
}

async function freeFolder(db: Kysely<Database>, accountId: string, base: string): Promise<string> {
  const taken = new Set(
    (
      await db
        .selectFrom("connections")
        .select("folder")
        .where("account_id", "=", accountId)
        .where((eb) => eb.or([eb("folder", "=", base), eb("folder", "like", `${base}-%`)]))
        .execute()
    ).map((r) => r.folder),
  );
  for (let n = 1; ; n++) {
    const folder = n === 1 ? base : `${base}-${n}`;
    if (!taken.has(folder)) return folder;
  }
}

/**
 * Connections with their credential's username (for addresses) and their latest activity (newest transfer,
 * newest outbound run), confined to one account.
 */
function selectRows(db: Kysely<Database>, accountId: string) {
  return (
    db
      .selectFrom("connections as c")
      .leftJoin("credentials as k", "k.id", "c.credential_id")
      .innerJoin("accounts as a", "a.id", "c.account_id")
      // The newest transfer, and the newest run (outbound) or pull (pull connections) as a run: one index
      // lookup each per connection.
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom("transfers as t")
            .select(["t.status", "t.updated_at", "t.error", "t.file_name"])
            .whereRef("t.connection_id", "=", "c.id")
            .orderBy("t.id", "desc")
            .limit(1)
            .as("lt"),
        (join) => join.onTrue(),
      )
      .leftJoinLateral(
        sql<{ status: string; at: Date; error: string | null; kind: "run" | "pull" }>`(
        SELECT * FROM (
          (SELECT r.status, coalesce(r.finished_at, r.created_at) AS at, r.error, 'run' AS kind
           FROM report_runs r WHERE r.connection_id = c.id ORDER BY r.id DESC LIMIT 1)
          UNION ALL
          (SELECT CASE p.status WHEN 'succeeded' THEN 'generated' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
                  coalesce(p.finished_at, p.created_at), p.error, 'pull'
           FROM pulls p WHERE p.connection_id = c.id ORDER BY p.id DESC LIMIT 1)
        ) latest LIMIT 1)`.as("lr"),
        (join) => join.onTrue(),
      )
      .selectAll("c")
      .select("k.username")
      .select([
        "a.inbound_retention_days as account_inbound_days",
        "a.result_retention_days as account_result_days",
        "a.outbound_retention_days as account_outbound_days",
        "a.time_zone as account_time_zone",
      ])
      .select([
        "lt.status as last_transfer_status",
        "lt.updated_at as last_transfer_at",
        "lt.error as last_transfer_error",
        "lt.file_name as last_transfer_file",
        "lr.status as last_run_status",
        "lr.at as last_run_at",
        "lr.error as last_run_error",
        "lr.kind as last_run_kind",
        // Kept by triggers as files come and go: a few rows, however long the history.
        connectionStorage(sql.ref("c.id")).as("storage"),
      ])
      .where("c.account_id", "=", accountId)
  );
}

const TRANSFER_ACTIVITY: Record<string, ActivityStatus> = {
  received: "in_progress",
  processing: "in_progress",
  partial: "partial",
  rejected: "failed",
  failed: "failed",
  delivery_failed: "failed",
};

/**
 * The connection's status from its latest activity: a run or pull that failed or is pending counts over its
 * transfer. When it is Partial or Failed, `problem` says what: the file (name, status, error) or the run/pull.
 */
function activityOf(r: Row): Connection["activity"] {
  const transferAt = r.last_transfer_at?.getTime() ?? 0;
  const runAt = r.last_run_at?.getTime() ?? 0;
  if (runAt > transferAt && r.last_run_status && r.last_run_status !== "generated") {
    const failed = r.last_run_status === "failed";
    return {
      status: failed ? "failed" : "in_progress",
      lastActiveAt: r.last_run_at,
      problem: failed
        ? { source: r.last_run_kind ?? "run", status: "failed", fileName: null, error: r.last_run_error }
        : null,
    };
  }
  if (!r.last_transfer_status)
    return {
      status: r.last_run_status === "generated" ? "completed" : "none",
      lastActiveAt: r.last_run_at,
      problem: null,
    };
  const status = TRANSFER_ACTIVITY[r.last_transfer_status] ?? "completed";
  return {
    status,
    lastActiveAt: new Date(Math.max(transferAt, runAt)),
    problem:
      status === "failed" || status === "partial"
        ? {
            source: "file",
            status: r.last_transfer_status,
            fileName: r.last_transfer_file,
            error: r.last_transfer_error,
          }
        : null,
  };
}

async function findRow(db: Kysely<Database>, actor: Actor, id: string): Promise<Row> {
  if (!isId(id)) throw notFound("Connection");
  const row = await selectRows(db, actor.accountId).where("c.id", "=", id).executeTakeFirst();
  if (!row) throw notFound("Connection");
  return row;
}

/** One connection of the actor's account. */
export async function getConnection(deps: ConnectionDeps, actor: Actor, id: string): Promise<Connection> {
  return toConnection(await findRow(deps.db, actor, id), deps);
}

/** The actor's connections matching the filter, oldest first, a page at a time. */
export async function listConnections(
  deps: ConnectionDeps,
  actor: Actor,
  filter: ConnectionFilter = {},
): Promise<Page<Connection>> {
  const { limit, after } = pageBounds(filter);
  let q = selectRows(deps.db, actor.accountId)
    .orderBy("c.id")
    .limit(limit + 1);
  if (after) q = q.where("c.id", ">", after);
  if (filter.direction) q = q.where("c.direction", "=", filter.direction);
  if (filter.dataType) q = q.where("c.data_type", "=", filter.dataType);
  if (filter.method) q = q.where("c.method", "=", filter.method);
  if (filter.methodology) q = q.where("c.methodology", "=", filter.methodology);
  if (filter.status) q = q.where("c.status", "=", filter.status);
  if (filter.credentialId) {
    if (!isId(filter.credentialId)) return { items: [], nextCursor: null };
    q = q.where("c.credential_id", "=", filter.credentialId);
  }
  return toPage(await q.execute(), limit, (r) => toConnection(r, deps));
}

/** Changes name, credential and/or details. Direction, data type, method and methodology never change. */
export async function updateConnection(
  deps: ConnectionDeps,
  actor: Actor,
  id: string,
  change: ConnectionChange & Record<string, unknown>,
): Promise<Connection> {
  const { db } = deps;
  const fixed = ["direction", "dataType", "method", "methodology"].filter((k) => change[k] !== undefined);
  if (fixed.length > 0) {
    throw invalid(
      fixed.map((path) => ({
        path,
        message: "cannot be changed after creation; create a new connection and disable this one",
      })),
    );
  }
  const row = await findRow(db, actor, id);
  const current = toConnection(row, deps);
  const set: Updateable<ConnectionsTable> = {};
  if (change.name !== undefined) set.name = checkName(change.name);
  if (change.retentionDays !== undefined) set.retention_days = change.retentionDays;
  if (change.resultRetentionDays !== undefined) {
    if (row.direction !== "inbound" && change.resultRetentionDays !== null) {
      throw invalid([{ path: "resultRetentionDays", message: "only inbound connections have result files" }]);
    }
    set.result_retention_days = change.resultRetentionDays;
  }
  const credentialId = change.credentialId === undefined ? row.credential_id : change.credentialId;
  if (change.credentialId !== undefined) {
    await checkCredential(db, actor, change.credentialId);
    set.credential_id = change.credentialId;
  }
  const details =
    change.details !== undefined || change.credentialId !== undefined
      ? prepareDetails(deps, { ...current, credentialId }, change.details ?? {}, row.details)
      : row.details;
  if (change.details) {
    await checkPgpKeys(
      db,
      actor,
      Object.fromEntries(
        Object.keys(change.details).map((k) => [k, (details as Record<string, unknown>)[k]]),
      ),
    );
  }
  if (Object.keys(set).length === 0 && change.details === undefined) return current;

  try {
    await db
      .updateTable("connections")
      .set({ ...set, details: JSON.stringify(details), updated_at: new Date() })
      .where("account_id", "=", actor.accountId)
      .where("id", "=", id)
      .execute();
    const after = toConnection(await findRow(db, actor, id), deps);
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const key of ["name", "credentialId", "details", "retention"] as const) {
      if (JSON.stringify(current[key]) !== JSON.stringify(after[key])) {
        changes[key] = { from: current[key], to: after[key] };
      }
    }
    // A new secret with the same visible form (passwordSet: true) is still a change worth recording.
    const secrets = Object.keys(change.details ?? {}).filter((k) =>
      (SECRET_DETAILS as readonly string[]).includes(k),
    );
    if (Object.keys(changes).length > 0 || secrets.length > 0) {
      await audit(
        db,
        actor,
        "connection.updated",
        { type: "connection", id },
        {
          changes,
          ...(secrets.length ? { secretsChanged: secrets } : {}),
        },
      );
    }
    return after;
  } catch (err) {
    if (isUniqueViolation(err, "connections_account_name")) throw nameTaken(set.name ?? "");
    throw err;
  }
}

/** Sets a connection active or disabled; a no-op (and no audit) when it already is. */
export async function setConnectionStatus(
  deps: ConnectionDeps,
  actor: Actor,
  id: string,
  status: ConnectionStatus,
): Promise<Connection> {
  const row = await findRow(deps.db, actor, id);
  if (row.status === status) return toConnection(row, deps);
  const now = new Date();
  await deps.db
    .updateTable("connections")
    .set({ status, status_changed_at: now, updated_at: now })
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .execute();
  await audit(deps.db, actor, status === "disabled" ? "connection.disabled" : "connection.enabled", {
    type: "connection",
    id,
  });
  return toConnection(await findRow(deps.db, actor, id), deps);
}

/** The error a delete request gets: connections keep their history forever. */
export function connectionDeleteRefused(): DomainError {
  return new DomainError(
    "METHOD_NOT_ALLOWED",
    "Connections cannot be deleted, so that everything they did stays visible. Disable it instead: POST /api/v1/connections/{id}/disable",
  );
}
