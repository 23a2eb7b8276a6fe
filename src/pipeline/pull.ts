/**
 * Running a pull from a third party (the job's work; the pulls themselves are domain/pulls.ts): Ferry logs in
 * to the customer's server, takes the files of the folder that match the pattern and have stopped growing, and
 * receives each one exactly as an upload (durable receive → processing). A remote file is taken once per
 * (path, size, mtime), recorded in the same transaction as its Transfer; with deleteAfterPull it is removed
 * only after that commit.
 */

import { type Kysely, sql } from "kysely";
import type pg from "pg";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import { PULL_HEARTBEAT_MS, type Pull } from "../domain/pulls.js";
import { checkRoom, isQuotaExceeded } from "../domain/quota.js";
import { pullsFinished } from "../telemetry.js";
import { messageOf } from "../thrown.js";
import { emitEvent, sqlClientOf } from "./events.js";
import { type JobQueue, PULL_QUEUE, type PullJob, type WorkQueue } from "./jobs.js";
import { inAccountSlot } from "./lease.js";
import { matchesPattern } from "./names.js";
import { recordUpload } from "./receive.js";
import {
  connectRemote,
  type PullDetails,
  type RemoteAccess,
  RemoteError,
  type RemoteFile,
  type RemoteSession,
} from "./remote.js";
import type { FileStore } from "./store.js";
import { WORKER_TIMING } from "./worker.js";

export interface PullDeps extends RemoteAccess {
  store: FileStore;
  queue: JobQueue;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  /** How long to wait between the two looks at a file's size (a file still growing is left for later). */
  settleMs: number;
}

/**
 * Runs pull jobs in this process: `workers` at once, and at most `perAccount` of one account's pulls across
 * every process (0: no cap); a pull whose account is at its cap waits, still pending, and is tried again.
 */
export async function startPullWorkers(
  queue: WorkQueue,
  pool: pg.Pool,
  deps: PullDeps,
  limits: { workers: number; perAccount: number },
): Promise<void> {
  await queue.work<PullJob>(PULL_QUEUE, limits.workers, WORKER_TIMING.pollingSeconds, async (job) => {
    const pull = () => runPull(deps, job.data.pullId);
    if (limits.perAccount === 0) return void (await pull());
    const slot = await inAccountSlot(pool, { table: "pulls", id: job.data.pullId }, limits.perAccount, pull);
    if (slot === "full") await queue.defer(PULL_QUEUE, job.data, 1);
  });
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
  }, PULL_HEARTBEAT_MS);
  const counts = { found: 0, taken: 0, waiting: 0 };
  let seenHostKey: string | null = null;
  let session: RemoteSession | undefined;
  let method = "unknown";
  try {
    const c = await db
      .selectFrom("connections")
      .selectAll()
      .where("id", "=", pull.connection_id)
      .executeTakeFirstOrThrow();
    method = c.method;
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
    await session.finish?.();
    await finish(deps, pullId, "succeeded", counts, seenHostKey, null);
    pullsFinished.inc({ method, status: "succeeded" });
    deps.log.info({ pullId, connectionId: c.id, ...counts }, "pull done");
    return "succeeded";
  } catch (err) {
    const e = err instanceof RemoteError ? err : new RemoteError("FAILED", messageOf(err));
    if (e.code === "HOST_KEY_MISMATCH" || e.code === "TLS_ERROR")
      seenHostKey = /presented (?:the certificate )?(\S+),/.exec(e.message)?.[1] ?? seenHostKey;
    await finish(deps, pullId, "failed", counts, seenHostKey, e);
    pullsFinished.inc({ method, status: "failed" });
    deps.log.warn({ pullId, err: e.message }, "pull failed");
    return "failed";
  } finally {
    clearInterval(heartbeat);
    session?.close();
  }
}

/**
 * Records a pull's outcome. A change of state raises an event in the same transaction: pull.failing (the
 * first failure after a success, with connection.host_key_changed when the server's key or certificate is
 * not the pinned one) and pull.recovered (the first success after failures); repeated failures raise none.
 */
async function finish(
  deps: PullDeps,
  pullId: string,
  status: "succeeded" | "failed",
  counts: { found: number; taken: number; waiting: number },
  hostKey: string | null,
  error: RemoteError | null,
): Promise<void> {
  await deps.db.transaction().execute(async (trx) => {
    const pull = await record(trx, pullId, status, counts, hostKey, error);
    const before = await trx
      .selectFrom("pulls")
      .select("status")
      .where("connection_id", "=", pull.connection_id)
      .where("id", "!=", pullId)
      .where("status", "in", ["succeeded", "failed"])
      .orderBy("finished_at", "desc")
      .limit(1)
      .executeTakeFirst();
    const was = before?.status ?? "succeeded";
    if (was === status) return;
    const data = {
      connectionId: pull.connection_id,
      pullId,
      errorCode: error?.code ?? null,
      error: error?.message ?? null,
      hostKey,
    };
    const client = sqlClientOf(trx);
    await emitEvent(
      client,
      deps.queue,
      pull.account_id,
      status === "failed" ? "pull.failing" : "pull.recovered",
      data,
    );
    if (error?.code === "HOST_KEY_MISMATCH") {
      await emitEvent(client, deps.queue, pull.account_id, "connection.host_key_changed", data);
    }
  });
  deps.queue.wake();
}

async function record(
  db: Kysely<Database>,
  pullId: string,
  status: "succeeded" | "failed",
  counts: { found: number; taken: number; waiting: number },
  hostKey: string | null,
  error: RemoteError | null,
) {
  return db
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
    .returning(["connection_id", "account_id"])
    .executeTakeFirstOrThrow();
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
