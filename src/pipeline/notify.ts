/**
 * Email notifications: a subscription's events mailed through the relay (the mailer port), each at once by
 * its queue job, or gathered in one daily digest at DIGEST_HOUR in the account's time zone. Each mail says
 * what happened in words and links to the connection's page in the web UI.
 */
import type pg from "pg";
import type { Logger } from "pino";
import { messageOf } from "../thrown.js";
import { NOTIFY_QUEUE, type NotifyJob, type WorkQueue } from "./jobs.js";
import type { Mailer } from "./mailer.js";

/** The local hour digests are sent at. */
export const DIGEST_HOUR = 8;
/** Events in one digest at most (the rest wait for the next). */
const DIGEST_MAX = 500;

export interface NotifyDeps {
  pool: pg.Pool;
  mailer: Mailer;
  /** The web UI's base URL, for links. */
  publicUrl: string;
  log: Logger;
}

interface Payload {
  type: string;
  timestamp: string;
  data: {
    connectionId?: string;
    connectionName?: string;
    fileName?: string;
    status?: string;
    rows?: { total: number; ok: number; error: number } | null;
    error?: string | null;
    dueAt?: string;
    expectedBy?: string;
  };
}

/** One event in words: a line for the mail, and the subject of an immediate one. */
export function describeEvent(p: Payload, connection: string): string {
  const d = p.data;
  const file = d.fileName ? `${d.fileName}` : "A file";
  const rows = d.rows
    ? ` (${d.rows.ok} of ${d.rows.total} rows taken${d.rows.error ? `, ${d.rows.error} refused` : ""})`
    : "";
  const error = d.error ? `: ${d.error}` : "";
  const said: Record<string, string> = {
    "file.received": `${file} was received on ${connection}`,
    "file.duplicate": `${file} on ${connection} is the same as an earlier file: recorded as a duplicate`,
    "file.processed": `${file} on ${connection} was processed${rows}`,
    "file.partial": `${file} on ${connection} was processed with refused rows${rows}`,
    "file.rejected": `Every row of ${file} on ${connection} was refused${rows}`,
    "file.validated": `${file} on ${connection} was validated, nothing applied${rows}`,
    "file.failed": `${file} on ${connection} could not be processed${error}`,
    "file.generated": `${file} was generated on ${connection}`,
    "file.delivered": `${file} on ${connection} was delivered`,
    "file.delivery_failed": `${file} on ${connection} could not be delivered${error}`,
    "pull.failing": `Pulling from the server of ${connection} fails${error}`,
    "pull.recovered": `Pulling from the server of ${connection} works again`,
    "connection.host_key_changed": `The server of ${connection} presented another key or certificate than the one trusted: nothing is pulled until you check it`,
    "file.missing": `No file came on ${connection} by ${d.expectedBy ?? "its time"} (due ${d.dueAt ?? "today"})`,
  };
  return said[p.type] ?? `${p.type} on ${connection}`;
}

const link = (deps: NotifyDeps, connectionId: string | undefined) =>
  connectionId ? `${deps.publicUrl}/settings/technical/connections/${connectionId}` : deps.publicUrl;

async function connectionName(pool: pg.Pool, id: string | undefined): Promise<string> {
  if (!id) return "your account";
  const { rows } = await pool.query("SELECT name FROM connections WHERE id = $1", [id]);
  return rows[0] ? `"${rows[0].name}"` : "a connection";
}

/** Mails one immediate notification; throws (the job retries) when the relay refuses, and on the last try marks it failed. */
export async function sendNotification(
  deps: NotifyDeps,
  id: string,
  last: boolean,
): Promise<"sent" | "skipped"> {
  const { rows } = await deps.pool.query(
    `SELECT n.id, n.status, n.payload, s.email FROM notifications n
     JOIN notification_subscriptions s ON s.id = n.subscription_id WHERE n.id = $1`,
    [id],
  );
  const n = rows[0];
  if (n?.status !== "pending") return "skipped";
  const p = n.payload as Payload;
  const line = describeEvent(p, await connectionName(deps.pool, p.data.connectionId));
  try {
    await deps.mailer.send({
      to: [n.email],
      subject: `Ferry: ${line}`.slice(0, 200),
      text: `${line}.\n\nWhen: ${p.timestamp}\nSee it: ${link(deps, p.data.connectionId)}\n\nYou get this mail because you subscribed to ${p.type} notifications in Ferry.\n`,
      attachments: [],
    });
  } catch (err) {
    await deps.pool.query(
      "UPDATE notifications SET error = $2, status = CASE WHEN $3 THEN 'failed' ELSE status END WHERE id = $1",
      [id, messageOf(err).slice(0, 500), last],
    );
    throw err;
  }
  await deps.pool.query(
    "UPDATE notifications SET status = 'sent', sent_at = now(), error = NULL WHERE id = $1",
    [id],
  );
  return "sent";
}

/**
 * Sends the digests due at `now`: every digest subscription of an account where it is DIGEST_HOUR o'clock,
 * with what is pending, in one mail each. Returns how many mails went.
 */
export async function sendDigests(deps: NotifyDeps, now: Date = new Date()): Promise<number> {
  const { rows: due } = await deps.pool.query(
    `SELECT s.id, s.email FROM notification_subscriptions s JOIN accounts a ON a.id = s.account_id
     WHERE s.mode = 'digest' AND extract(hour FROM $1::timestamptz AT TIME ZONE a.time_zone) = $2
       AND EXISTS (SELECT 1 FROM notifications n WHERE n.subscription_id = s.id AND n.status = 'pending')`,
    [now, DIGEST_HOUR],
  );
  let sent = 0;
  for (const s of due) {
    const { rows } = await deps.pool.query(
      `SELECT id, payload FROM notifications WHERE subscription_id = $1 AND status = 'pending'
       ORDER BY created_at, id LIMIT ${DIGEST_MAX}`,
      [s.id],
    );
    if (rows.length === 0) continue;
    const lines: string[] = [];
    for (const r of rows) {
      const p = r.payload as Payload;
      lines.push(
        `- ${p.timestamp}: ${describeEvent(p, await connectionName(deps.pool, p.data.connectionId))}`,
      );
    }
    try {
      await deps.mailer.send({
        to: [s.email],
        subject: `Ferry: ${rows.length} event${rows.length === 1 ? "" : "s"} since the last digest`,
        text: `${lines.join("\n")}\n\nSee them: ${deps.publicUrl}/settings/technical/connections\n\nYou get this daily digest because you subscribed to Ferry notifications.\n`,
        attachments: [],
      });
    } catch (err) {
      deps.log.warn({ err, subscriptionId: s.id }, "digest not sent; tried again at the next digest hour");
      continue;
    }
    await deps.pool.query(
      "UPDATE notifications SET status = 'sent', sent_at = now() WHERE id = ANY($1::uuid[])",
      [rows.map((r) => r.id)],
    );
    sent++;
  }
  return sent;
}

/** Works the immediate notifications in this process. */
export async function startNotifyWorkers(
  queue: WorkQueue,
  deps: NotifyDeps,
  pollingSeconds: number,
): Promise<void> {
  await queue.work<NotifyJob>(NOTIFY_QUEUE, 2, pollingSeconds, async (job) => {
    await sendNotification(deps, job.data.notificationId, job.retryCount >= job.retryLimit);
  });
}
