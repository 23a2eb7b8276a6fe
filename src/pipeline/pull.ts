/**
 * Pull from a third party: on its schedule (or "pull now") Ferry logs in to the customer's SFTP server, takes
 * the files of the folder that match the pattern and have stopped growing, and receives each one exactly as
 * an upload (durable receive → processing). A remote file is taken once per (path, size, mtime), recorded in
 * the same transaction as its Transfer; with deleteAfterPull it is removed only after that commit.
 *
 * Each pull is a row in `pulls` (the connection's health); at most one per connection is pending or running.
 * A failed pull is retried with back-off (1, 2, 4… minutes, up to the connection's interval).
 */
import net from "node:net";
import { type Kysely, sql } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import { accountPrivateKey } from "../domain/account-keys.js";
import type { Actor } from "../domain/actor.js";
import { audit } from "../domain/audit.js";
import { DomainError, notFound } from "../domain/errors.js";
import { ownedBy } from "../domain/owned.js";
import { checkRoom, isQuotaExceeded } from "../domain/quota.js";
import type { SecretBox } from "../domain/secretbox.js";
import { matchesPattern } from "../protocols/email/mailboxes.js";
import { type Egress, resolveAllowed } from "../protocols/remote/egress.js";
import { connectFtp } from "../protocols/remote/ftp-client.js";
import { connectImap, type ImapSession } from "../protocols/remote/imap-client.js";
import {
  REMOTE_ERROR_WORDS,
  RemoteError,
  type RemoteFile,
  type RemoteSession,
} from "../protocols/remote/session.js";
import { connectSftp } from "../protocols/remote/sftp-client.js";
import type { JobQueue } from "./jobs.js";
import { recordUpload } from "./receive.js";
import type { FileStore } from "./store.js";

/** What connecting to a customer's server needs: its sealed secrets' box and where Ferry may connect. */
export interface RemoteAccess {
  db: Kysely<Database>;
  box: SecretBox;
  egress: Egress;
}

export interface PullDeps extends RemoteAccess {
  store: FileStore;
  queue: JobQueue;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** How long to wait between the two looks at a file's size (a file still growing is left for later). */
  settleMs: number;
}

/** A running pull's heartbeat; one silent for HEARTBEAT_LOST_S lost its process and is failed. */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_LOST_S = 60;

/** Methods whose pull is implemented here. */
const PULL_METHODS = ["sftp", "ftp", "email"];

async function createPull(
  db: Kysely<Database>,
  queue: JobQueue,
  c: { account_id: string; id: string },
  trigger: "schedule" | "manual",
): Promise<string | null> {
  return db.transaction().execute(async (trx) => {
    const id = newId();
    const r = await sql<{ id: string }>`
      INSERT INTO pulls (id, account_id, connection_id, trigger)
      VALUES (${id}, ${c.account_id}, ${c.id}, ${trigger})
      ON CONFLICT (connection_id) WHERE status IN ('pending', 'running') DO NOTHING
      RETURNING id`.execute(trx);
    if (r.rows.length === 0) return null;
    await queue.enqueuePull(trx, { pullId: id });
    return id;
  });
}

/**
 * Creates the pulls that are due: connections pulling from a third party whose last pull is older than their
 * interval (or, after failures, than the back-off). Also fails running pulls whose process is gone. Returns
 * how many pulls were created.
 */
export async function scheduleDuePulls(db: Kysely<Database>, queue: JobQueue): Promise<number> {
  await sql`
    UPDATE pulls SET status = 'failed', error_code = 'FAILED',
      error = 'failed: the Ferry process running this pull stopped', finished_at = clock_timestamp()
    WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => ${HEARTBEAT_LOST_S})`.execute(
    db,
  );
  const due = await sql<{ account_id: string; id: string }>`
    SELECT c.account_id, c.id
    FROM connections c
    LEFT JOIN LATERAL (
      SELECT p.status, p.created_at FROM pulls p WHERE p.connection_id = c.id ORDER BY p.id DESC LIMIT 1
    ) last ON true
    LEFT JOIN LATERAL (
      SELECT count(*) AS n FROM (
        SELECT p.status FROM pulls p WHERE p.connection_id = c.id ORDER BY p.id DESC LIMIT 8
      ) recent WHERE recent.status = 'failed'
    ) failures ON true
    WHERE c.status = 'active' AND c.methodology = 'pull_from_third_party'
      AND c.method = ANY(${PULL_METHODS})
      AND (last.status IS NULL OR (last.status IN ('succeeded', 'failed') AND last.created_at <= now() -
        CASE WHEN last.status = 'failed'
          THEN least(make_interval(mins => (power(2, greatest(failures.n, 1) - 1))::int),
                     make_interval(mins => coalesce((c.details->>'pullEveryMinutes')::int, 15)))
          ELSE make_interval(mins => coalesce((c.details->>'pullEveryMinutes')::int, 15))
        END))`.execute(db);
  let created = 0;
  for (const c of due.rows) if (await createPull(db, queue, c, "schedule")) created++;
  if (created > 0) queue.wake();
  return created;
}

/** "Pull now": a manual pull of one of the actor's pull connections. */
export async function pullNow(
  db: Kysely<Database>,
  queue: JobQueue,
  actor: Actor,
  connectionId: string,
): Promise<Pull> {
  if (!(await ownedBy(db, "connections", actor.accountId, connectionId))) throw notFound("Connection");
  const c = await db
    .selectFrom("connections")
    .select(["id", "account_id", "methodology", "method", "status"])
    .where("id", "=", connectionId)
    .executeTakeFirstOrThrow();
  if (c.methodology !== "pull_from_third_party")
    throw new DomainError("CONFLICT", "Only connections that pull from a third party can pull now");
  if (!PULL_METHODS.includes(c.method))
    throw new DomainError(
      "CONFLICT",
      `Pulling by ${c.method === "email" ? "IMAP" : c.method} is not available yet`,
    );
  if (c.status !== "active") throw new DomainError("CONFLICT", "The connection is disabled");
  const id = await createPull(db, queue, c, "manual");
  if (!id) throw new DomainError("CONFLICT", "A pull of this connection is already waiting or running");
  queue.wake();
  await audit(
    db,
    actor,
    "connection.pull_requested",
    { type: "connection", id: connectionId },
    { pullId: id },
  );
  return (await listPulls(db, actor, connectionId, 1))[0]!;
}

export interface Pull {
  id: string;
  trigger: "schedule" | "manual";
  status: "pending" | "running" | "succeeded" | "failed";
  filesFound: number | null;
  filesTaken: number | null;
  filesWaiting: number | null;
  errorCode: string | null;
  error: string | null;
  hostKey: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A connection's pulls, newest first. */
export async function listPulls(
  db: Kysely<Database>,
  actor: Actor,
  connectionId: string,
  limit = 50,
): Promise<Pull[]> {
  if (!(await ownedBy(db, "connections", actor.accountId, connectionId))) throw notFound("Connection");
  const rows = await db
    .selectFrom("pulls")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("connection_id", "=", connectionId)
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    trigger: r.trigger,
    status: r.status,
    filesFound: r.files_found,
    filesTaken: r.files_taken,
    filesWaiting: r.files_waiting,
    errorCode: r.error_code,
    error: r.error,
    hostKey: r.host_key,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }));
}

/**
 * Accepts the host key the server presented at the connection's latest pull (after a "host key mismatch"):
 * it becomes the pinned fingerprint.
 */
export async function acceptHostKey(
  db: Kysely<Database>,
  actor: Actor,
  connectionId: string,
): Promise<string> {
  const [last] = await listPulls(db, actor, connectionId, 1);
  if (!last?.hostKey) throw new DomainError("CONFLICT", "No pull has seen this server's host key yet");
  await db
    .updateTable("connections")
    .set({
      details: sql`details || jsonb_build_object('hostKeyFingerprint', ${last.hostKey}::text)`,
      updated_at: new Date(),
    })
    .where("account_id", "=", actor.accountId)
    .where("id", "=", connectionId)
    .execute();
  await audit(
    db,
    actor,
    "connection.host_key_accepted",
    { type: "connection", id: connectionId },
    { fingerprint: last.hostKey },
  );
  return last.hostKey;
}

/**
 * Logs in to a connection's server by its method: SFTP with its password (unsealed) or the account's key;
 * FTP/FTPS with its password. The pinned key (SSH host key or TLS certificate) is checked.
 */
export async function connectRemote(
  { db, box, egress }: RemoteAccess,
  accountId: string,
  method: string,
  d: Pick<
    PullDetails,
    | "host"
    | "port"
    | "username"
    | "passwordSealed"
    | "authMethod"
    | "hostKeyFingerprint"
    | "security"
    | "tls"
    | "mailbox"
  >,
): Promise<RemoteSession> {
  const password = d.passwordSealed ? box.open(d.passwordSealed) : "";
  const port = d.port ?? (method === "email" ? 993 : method === "ftp" ? 21 : 22);
  // Connect to the address that was checked; TLS still verifies (pins) against the name given.
  const address = await resolveAllowed(d.host, port, egress);
  const servername = net.isIP(d.host) ? undefined : d.host;
  if (method === "email") {
    return connectImap({
      host: address,
      servername,
      port,
      tls: d.tls ?? true,
      username: d.username,
      password,
      mailbox: d.mailbox ?? "INBOX",
      hostKeyFingerprint: d.hostKeyFingerprint,
    });
  }
  if (method === "ftp") {
    return connectFtp({
      host: address,
      servername,
      port,
      username: d.username,
      password,
      security: d.security ?? "explicit",
      hostKeyFingerprint: d.hostKeyFingerprint,
    });
  }
  return connectSftp({
    host: address,
    port,
    username: d.username,
    ...(d.authMethod === "key" ? { privateKey: await accountPrivateKey(db, box, accountId) } : { password }),
    hostKeyFingerprint: d.hostKeyFingerprint,
  });
}

export interface PullDetails {
  host: string;
  port: number;
  username: string;
  passwordSealed?: string;
  authMethod?: "password" | "key";
  hostKeyFingerprint?: string;
  folder: string;
  filePattern: string;
  deleteAfterPull?: boolean;
  resultFolder?: string;
  security?: "explicit" | "implicit" | "none";
  /** IMAP: TLS on connect (993), and the mailbox folder. */
  tls?: boolean;
  mailbox?: string;
}

/** Runs one pull (the job's work). Remote failures are recorded on the pull, not thrown. */
export async function runPull(deps: PullDeps, pullId: string): Promise<Pull["status"] | "skipped"> {
  const { db } = deps;
  const pull = await db
    .updateTable("pulls")
    .set({ status: "running", started_at: sql`clock_timestamp()`, heartbeat_at: sql`clock_timestamp()` })
    .where("id", "=", pullId)
    .where("status", "=", "pending")
    .returningAll()
    .executeTakeFirst();
  if (!pull) return "skipped";
  const heartbeat = setInterval(() => {
    void db
      .updateTable("pulls")
      .set({ heartbeat_at: sql`clock_timestamp()` })
      .where("id", "=", pullId)
      .execute()
      .catch(() => {});
  }, HEARTBEAT_MS);
  const counts = { found: 0, taken: 0, waiting: 0 };
  let seenHostKey: string | null = null;
  let session: RemoteSession | undefined;
  try {
    const c = await db
      .selectFrom("connections")
      .selectAll()
      .where("id", "=", pull.connection_id)
      .executeTakeFirstOrThrow();
    if (c.status !== "active") throw new RemoteError("FAILED", "the connection is disabled");
    const d = c.details as unknown as PullDetails;
    session = await connectRemote(deps, c.account_id, c.method, d);
    seenHostKey = session.hostKey;
    if (!d.hostKeyFingerprint && seenHostKey) {
      // First successful connection: pin the key it presented.
      await db
        .updateTable("connections")
        .set({ details: sql`details || jsonb_build_object('hostKeyFingerprint', ${seenHostKey}::text)` })
        .where("id", "=", c.id)
        .execute();
    }
    const files = (await session.list(d.folder ?? "")).filter((f) => matchesPattern(d.filePattern, f.name));
    counts.found = files.length;
    const fresh = await notTakenYet(db, c.id, files);
    // A file may still be growing: look again after a while. (A message in a mailbox is complete.)
    const settles = c.method !== "email";
    if (settles && fresh.length > 0) await new Promise((r) => setTimeout(r, deps.settleMs));
    for (const f of fresh) {
      const now = settles ? await session.stat(f.path) : f;
      if (now.size !== f.size || now.mtime.getTime() !== f.mtime.getTime()) {
        counts.waiting++;
        continue;
      }
      await take(deps, session, { accountId: c.account_id, connectionId: c.id, pullId }, f);
      counts.taken++;
      if (d.deleteAfterPull) {
        await session.remove(f.path);
        await db
          .updateTable("pulled_files")
          .set({ deleted_at: new Date() })
          .where("connection_id", "=", c.id)
          .where("path", "=", f.path)
          .where("deleted_at", "is", null)
          .execute();
      }
    }
    // Messages are marked taken only now, when all their attachments are received.
    if ("finish" in session) await (session as ImapSession).finish();
    await finish(db, pullId, "succeeded", counts, seenHostKey, null);
    deps.log.info({ pullId, connectionId: c.id, ...counts }, "pull done");
    return "succeeded";
  } catch (err) {
    const e = err instanceof RemoteError ? err : new RemoteError("FAILED", (err as Error).message);
    if (e.code === "HOST_KEY_MISMATCH" || e.code === "TLS_ERROR")
      seenHostKey = /presented (?:the certificate )?(\S+),/.exec(e.message)?.[1] ?? seenHostKey;
    await finish(db, pullId, "failed", counts, seenHostKey, e);
    deps.log.warn({ pullId, err: e.message }, "pull failed");
    return "failed";
  } finally {
    clearInterval(heartbeat);
    session?.close();
  }
}

async function finish(
  db: Kysely<Database>,
  pullId: string,
  status: "succeeded" | "failed",
  counts: { found: number; taken: number; waiting: number },
  hostKey: string | null,
  error: RemoteError | null,
): Promise<void> {
  await db
    .updateTable("pulls")
    .set({
      status,
      files_found: counts.found,
      files_taken: counts.taken,
      files_waiting: counts.waiting,
      host_key: hostKey,
      error_code: error?.code ?? null,
      error: error?.message ?? null,
      finished_at: sql`clock_timestamp()`,
    })
    .where("id", "=", pullId)
    .execute();
}

/** The listed files not taken before with the same size and modification time. */
async function notTakenYet(
  db: Kysely<Database>,
  connectionId: string,
  files: RemoteFile[],
): Promise<RemoteFile[]> {
  if (files.length === 0) return [];
  const taken = await db
    .selectFrom("pulled_files")
    .select(["path", "size", "mtime"])
    .where("connection_id", "=", connectionId)
    .where(
      "path",
      "in",
      files.map((f) => f.path),
    )
    .execute();
  const key = (p: string, size: number, mtime: Date) => `${p}\0${size}\0${mtime.getTime()}`;
  const seen = new Set(taken.map((t) => key(t.path, t.size, t.mtime)));
  return files.filter((f) => !seen.has(key(f.path, f.size, f.mtime)));
}

/** Downloads one file into the store and receives it, recording the remote file in the same transaction. */
async function take(
  deps: PullDeps,
  session: RemoteSession,
  to: { accountId: string; connectionId: string; pullId: string },
  f: RemoteFile,
): Promise<void> {
  // A full account takes nothing: the file stays on the customer's server until there is room.
  await checkRoom(deps.db, to.accountId, f.size);
  const upload = await deps.store.create();
  let position = 0;
  try {
    await session.download(f.path, async (chunk) => {
      await upload.write(chunk, position);
      position += chunk.length;
    });
    // A stream that ends early (the server went away) must not become a Transfer.
    if (!f.sizeIsEncoded && position !== f.size) {
      throw new RemoteError(
        "DISCONNECTED",
        `${f.path} ended after ${position} of ${f.size} bytes; it will be pulled again`,
      );
    }
  } catch (err) {
    await upload.abort();
    throw err;
  }
  const object = await upload.commit();
  await recordUpload(
    deps.db,
    deps.queue,
    {
      accountId: to.accountId,
      connectionId: to.connectionId,
      credentialId: null,
      protocol: "pull",
      remoteIp: null,
    },
    f.name,
    object,
    async (trx, received) => {
      await trx
        .insertInto("pulled_files")
        .values({
          id: newId(),
          account_id: to.accountId,
          connection_id: to.connectionId,
          path: f.path,
          size: f.size,
          mtime: f.mtime,
          transfer_id: received.transferId,
          pull_id: to.pullId,
        })
        .execute();
    },
  ).catch(async (err) => {
    if (isQuotaExceeded(err)) await deps.store.remove(object.key);
    throw err;
  });
}

export { REMOTE_ERROR_WORDS };
