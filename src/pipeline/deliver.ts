/**
 * Delivery of a generated file by email: attached when it is small enough, otherwise as a time-limited
 * download link (only the token's SHA-256 is stored). Also the results of inbound files, mailed back or
 * uploaded to a pull connection's result folder. The Transfer becomes `delivered`; a failed send throws
 * and the job retries with back-off; the last failure is kept on the Transfer.
 */

import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import type { Logger } from "pino";
import { inTransaction } from "../db/pool.js";
import { messageOf } from "../thrown.js";
import { emitEvent, type TransferEventData } from "./events.js";
import type { JobQueue } from "./jobs.js";
import type { Mailer, OutgoingMail } from "./mailer.js";
import { connectRemote, type PullDetails, type RemoteAccess } from "./remote.js";
import { type FileStore, objectStream } from "./store.js";

export interface DeliverDeps {
  pool: pg.Pool;
  store: FileStore;
  mailer: Mailer;
  log: Logger;
  /** Larger files go as a link. */
  maxAttachmentBytes: number;
  /** The base URL of Ferry's HTTP API, for links. */
  publicUrl: string;
  /** How long a download link works, in days. (Default: LINK_DAYS) */
  linkDays?: number | undefined;
  /** How many times a download link works. (Default: LINK_MAX_USES) */
  linkMaxUses?: number | undefined;
  /** For result files uploaded to a pull connection's server. */
  remote?: RemoteAccess | undefined;
  /** Where webhook events of deliveries go. */
  queue?: JobQueue | undefined;
}

export const tokenHash = (token: string) => createHash("sha256").update(token).digest();

/** Downloads a link allows: enough for a few people and retries, not a public address for ever. */
export const LINK_MAX_USES = 10;

/** Days a download link works: a week of weekends and holidays, and then it is no address any more. */
export const LINK_DAYS = 7;

/**
 * A delivery attempt failed: the reason on the Transfer, and a file nobody has yet is `delivery_failed` (one
 * downloaded meanwhile keeps saying so). Its job retries; a success makes it `delivered`.
 */
async function deliveryFailed(deps: DeliverDeps, id: string, error: string): Promise<void> {
  await settle(
    deps,
    `WITH before AS (SELECT id, status FROM transfers WHERE id = $1 FOR UPDATE)
     UPDATE transfers t SET error = $2, updated_at = now(),
       status = CASE WHEN t.status = 'generated' THEN 'delivery_failed' ELSE t.status END
     FROM before WHERE t.id = before.id RETURNING ${SETTLED}, before.status AS was`,
    [id, error],
    // Webhooks hear of the first failure, not of every retry.
    (t) => (t.was === "generated" ? "file.delivery_failed" : null),
  );
}

/** A delivery succeeded: the file is delivered (one downloaded meanwhile keeps saying so). */
async function delivered(deps: DeliverDeps, id: string): Promise<void> {
  await settle(
    deps,
    `UPDATE transfers t SET status = CASE WHEN status IN ('generated', 'delivery_failed') THEN 'delivered' ELSE status END,
       delivered_at = now(), error = NULL, updated_at = now() WHERE id = $1 RETURNING ${SETTLED}`,
    [id],
    () => "file.delivered",
  );
}

/** What an outbound file's event says of it. */
const SETTLED =
  "t.id, t.account_id, t.connection_id, t.file_name, t.size, t.sha256, t.status, t.rows_total, t.error";

/**
 * Changes an outbound file's status and, in the same transaction, records the event the account's webhooks and
 * subscriptions hear of it (if `eventOf` names one): neither happens without the other.
 */
async function settle(
  deps: DeliverDeps,
  update: string,
  values: unknown[],
  eventOf: (t: { was?: string }) => "file.delivered" | "file.delivery_failed" | null,
): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    const { rows } = await client.query(update, values);
    const t = rows[0];
    const type = t ? eventOf(t) : null;
    if (t && type && deps.queue) {
      await emitEvent(client, deps.queue, t.account_id, type, {
        transferId: t.id,
        connectionId: t.connection_id,
        direction: "outbound",
        fileName: t.file_name,
        size: Number(t.size),
        sha256: t.sha256,
        status: t.status,
        error: t.error,
      } satisfies TransferEventData);
    }
  });
}

export async function deliverByEmail(
  deps: DeliverDeps,
  transferId: string,
): Promise<"delivered" | "skipped"> {
  const { rows } = await deps.pool.query(
    `SELECT t.id, t.account_id, t.file_name, t.store_key, t.size, t.status, c.name AS connection, c.details
     FROM transfers t JOIN connections c ON c.id = t.connection_id
     WHERE t.id = $1 AND t.direction = 'outbound' AND c.method = 'email'`,
    [transferId],
  );
  const t = rows[0];
  // A retry of a failed delivery tries again; a file delivered (or downloaded meanwhile) is left alone.
  if (!["generated", "delivery_failed"].includes(t?.status) || !t.store_key) return "skipped";
  const recipients = (t.details.recipients ?? []) as string[];
  const subject = `${t.connection}: ${t.file_name}`;
  try {
    if (t.size <= deps.maxAttachmentBytes) {
      const content = objectStream(await deps.store.open(t.store_key));
      // Closed whatever the relay did (a send refused before reading it would leave the file open).
      await deps.mailer
        .send({
          to: recipients,
          subject,
          text: `${t.file_name} (${t.size} bytes) is attached.\n\nFerry, connection "${t.connection}".\n`,
          attachments: [{ filename: t.file_name, content }],
        })
        .finally(() => content.destroy());
    } else {
      const token = randomBytes(32).toString("base64url");
      await deps.pool.query(
        `INSERT INTO download_links (token_hash, account_id, transfer_id, expires_at, max_uses)
         VALUES ($1, $2, $3, now() + make_interval(days => $4), $5)`,
        [tokenHash(token), t.account_id, t.id, deps.linkDays ?? LINK_DAYS, deps.linkMaxUses ?? LINK_MAX_USES],
      );
      await deps.mailer.send({
        to: recipients,
        subject,
        text: `${t.file_name} (${t.size} bytes) is too large to attach. Download it within ${deps.linkDays ?? LINK_DAYS} days (the link works ${deps.linkMaxUses ?? LINK_MAX_USES} times):\n\n${deps.publicUrl}/downloads/${token}\n\nFerry, connection "${t.connection}".\n`,
        attachments: [],
      });
    }
  } catch (err) {
    await deliveryFailed(deps, t.id, `Delivery failed: ${messageOf(err)}`);
    throw err;
  }
  await delivered(deps, t.id);
  deps.log.info({ transferId, recipients: recipients.length }, "file delivered by email");
  return "delivered";
}

/** Mails an inbound file's receipt, summary (and errors file, if any) to its email connection's return address. */
export async function mailResults(deps: DeliverDeps, transferId: string): Promise<"delivered" | "skipped"> {
  const { rows } = await deps.pool.query(
    `SELECT t.file_name, t.status, t.rows_total, t.rows_ok, t.error, c.name AS connection, c.details
     FROM transfers t JOIN connections c ON c.id = t.connection_id WHERE t.id = $1`,
    [transferId],
  );
  const t = rows[0];
  const to = t?.details.returnAddress as string | undefined;
  if (!to) return "skipped";
  const files = await deps.pool.query(
    `SELECT file_name, store_key FROM result_files WHERE transfer_id = $1 AND store_key IS NOT NULL
     ORDER BY CASE kind WHEN 'receipt' THEN 1 WHEN 'summary' THEN 2 ELSE 3 END`,
    [transferId],
  );
  const attachments: OutgoingMail["attachments"] = [];
  for (const f of files.rows) {
    attachments.push({
      filename: f.file_name as string,
      content: objectStream(await deps.store.open(f.store_key)),
    });
  }
  const counts = t.rows_total === null ? "" : ` (${t.rows_ok} of ${t.rows_total} rows taken)`;
  const status = t.status.replaceAll("_", " ");
  await deps.mailer
    .send({
      to: [to],
      subject: `Results: ${t.file_name}: ${status}${counts}`,
      text: `${t.file_name} through "${t.connection}": ${status}${counts}.${t.error ? `\n\n${t.error}` : ""}\n\nTrace id: ${transferId}\n`,
      attachments,
    })
    .finally(() => {
      for (const a of attachments) a.content.destroy();
    });
  deps.log.info({ transferId }, "results mailed to the return address");
  return "delivered";
}

/**
 * Uploads an inbound transfer's result files (receipt, summary, errors) to the `resultFolder` of the pull
 * connection it came through, on the customer's server. A failure throws: the delivery job retries.
 */
export async function uploadResults(deps: DeliverDeps, transferId: string): Promise<"delivered" | "skipped"> {
  const { rows } = await deps.pool.query(
    `SELECT t.account_id, t.protocol, c.method, c.details FROM transfers t JOIN connections c ON c.id = t.connection_id
     WHERE t.id = $1`,
    [transferId],
  );
  const t = rows[0];
  const details = t?.details as PullDetails | undefined;
  if (t?.protocol !== "pull" || !details?.resultFolder || !deps.remote) return "skipped";
  const files = await deps.pool.query(
    "SELECT file_name, store_key FROM result_files WHERE transfer_id = $1 AND store_key IS NOT NULL ORDER BY file_name",
    [transferId],
  );
  const session = await connectRemote(deps.remote, t.account_id, t.method, details);
  try {
    for (const f of files.rows) {
      const target = `${details.resultFolder.replace(/\/+$/, "")}/${f.file_name}`;
      await session.upload(target, objectStream(await deps.store.open(f.store_key)) as AsyncIterable<Buffer>);
    }
  } finally {
    session.close();
  }
  deps.log.info({ transferId, files: files.rows.length }, "result files uploaded to the result folder");
  return "delivered";
}

/**
 * Uploads a generated file to the outbound connection's own server (deliverToServer): under a temporary name,
 * renamed when complete. The host key is pinned at the first delivery. A failure is kept on the Transfer and
 * thrown: the job retries with back-off.
 */
export async function pushToServer(deps: DeliverDeps, transferId: string): Promise<"delivered" | "skipped"> {
  const { rows } = await deps.pool.query(
    `SELECT t.id, t.account_id, t.connection_id, t.file_name, t.store_key, t.delivered_at, c.method, c.details
     FROM transfers t JOIN connections c ON c.id = t.connection_id
     WHERE t.id = $1 AND t.direction = 'outbound'`,
    [transferId],
  );
  const t = rows[0];
  const details = t?.details as (PullDetails & { deliverToServer?: boolean }) | undefined;
  if (!t || t.delivered_at || !t.store_key || !details?.deliverToServer || !deps.remote) return "skipped";
  try {
    const session = await connectRemote(deps.remote, t.account_id, t.method, details);
    try {
      if (!details.hostKeyFingerprint && session.hostKey) {
        await deps.pool.query(
          "UPDATE connections SET details = details || jsonb_build_object('hostKeyFingerprint', $2::text) WHERE id = $1",
          [t.connection_id, session.hostKey],
        );
      }
      const target = `${details.folder.replace(/\/+$/, "")}/${t.file_name}`;
      await session.upload(target, objectStream(await deps.store.open(t.store_key)) as AsyncIterable<Buffer>);
    } finally {
      session.close();
    }
  } catch (err) {
    await deliveryFailed(deps, t.id, `Delivery to your server failed: ${messageOf(err)}`);
    throw err;
  }
  await delivered(deps, t.id);
  deps.log.info({ transferId }, "file delivered to the connection's server");
  return "delivered";
}
