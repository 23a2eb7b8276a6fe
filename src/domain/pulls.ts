/**
 * Pulls from a third party as the platform's state: each pull is a row in `pulls` (the connection's health);
 * at most one per connection is pending or running. They are made when due (the connection's interval, or
 * after failures a back-off of 1, 2, 4… minutes up to it) or by "pull now", and listed; a changed host key is
 * accepted here. Running one (logging in, taking files) is the pipeline's (pipeline/pull.ts).
 */
import { type Kysely, sql } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, notFound } from "./errors.js";
import type { PullQueue } from "./jobs.js";
import { ownedBy } from "./owned.js";

/** A running pull's heartbeat (pipeline/pull.ts beats it); one silent for PULL_HEARTBEAT_LOST_S lost its process and is failed. */
export const PULL_HEARTBEAT_MS = 5_000;
const PULL_HEARTBEAT_LOST_S = 60;

/** Methods whose pull is implemented (pipeline/pull.ts, with the clients of protocols/remote/). */
const PULL_METHODS = ["sftp", "ftp", "email"];

async function createPull(
  db: Kysely<Database>,
  queue: PullQueue,
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
export async function scheduleDuePulls(db: Kysely<Database>, queue: PullQueue): Promise<number> {
  await sql`
    UPDATE pulls SET status = 'failed', error_code = 'FAILED',
      error = 'failed: the Ferry process running this pull stopped', finished_at = clock_timestamp()
    WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => ${PULL_HEARTBEAT_LOST_S})`.execute(
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
  queue: PullQueue,
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
