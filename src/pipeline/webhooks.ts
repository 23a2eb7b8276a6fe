/**
 * Delivering one webhook event to one endpoint: signed per the Standard Webhooks specification (the
 * `standardwebhooks` library: webhook-id, webhook-timestamp, webhook-signature with the endpoint's secret,
 * and also the previous secret for a day after a rotation), POSTed through the sender port (the network side,
 * protocols/remote/webhook-sender.ts, which keeps to public addresses like pulls do). A 2xx answer delivers
 * it; anything else is recorded on the delivery and thrown, and the queue retries with back-off. The last
 * attempt's failure marks it failed (a redelivery can still send it).
 */
import type pg from "pg";
import type { Logger } from "pino";
import { Webhook } from "standardwebhooks";
import type { SecretBox } from "../domain/secretbox.js";
import { messageOf } from "../thrown.js";
import { WEBHOOK_QUEUE, type WebhookJob, type WorkQueue } from "./jobs.js";

/** The network side: one POST, its status code (or a thrown error: refused address, timeout, reset). */
export interface WebhookSender {
  post(url: string, headers: Record<string, string>, body: string): Promise<number>;
}

export interface WebhookDeps {
  pool: pg.Pool;
  box: SecretBox;
  sender: WebhookSender;
  log: Logger;
}

/** Longest error kept on a delivery. */
const MAX_ERROR = 500;

/** The signature header: `v1,<sig>` for the secret, and for the previous one while it still signs. */
export function signatures(secrets: string[], id: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, at, body)).join(" ");
}

/**
 * One attempt at delivery `deliveryId`. `last`: no retry follows (a failure then marks it failed). Returns
 * what happened; throws after recording a failure so the queue retries.
 */
export async function deliverWebhook(
  deps: WebhookDeps,
  deliveryId: string,
  last: boolean,
): Promise<"delivered" | "skipped"> {
  const { rows } = await deps.pool.query(
    `SELECT d.id, d.event_id, d.payload::text AS body, d.status, e.url, e.secret_sealed, e.previous_secret_sealed,
            e.previous_secret_until > now() AS previous_signs, e.status AS endpoint_status
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1`,
    [deliveryId],
  );
  const d = rows[0];
  if (d?.status !== "pending") return "skipped";
  if (d.endpoint_status !== "active") {
    await deps.pool.query("UPDATE webhook_deliveries SET status = 'failed', last_error = $2 WHERE id = $1", [
      d.id,
      "The endpoint is disabled",
    ]);
    return "skipped";
  }
  const secrets = [deps.box.open(d.secret_sealed)];
  if (d.previous_secret_sealed && d.previous_signs) secrets.push(deps.box.open(d.previous_secret_sealed));
  const at = new Date();
  const headers = {
    "content-type": "application/json",
    "user-agent": "Ferry-Webhooks/1",
    "webhook-id": d.event_id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signatures(secrets, d.event_id, at, d.body),
  };
  let code: number | null = null;
  let error: string | null = null;
  try {
    code = await deps.sender.post(d.url, headers, d.body);
    if (code < 200 || code > 299) error = `The endpoint answered ${code}`;
  } catch (err) {
    error = messageOf(err).slice(0, MAX_ERROR);
  }
  await deps.pool.query(
    `UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = now(), response_code = $2,
       last_error = $3, status = CASE WHEN $3::text IS NULL THEN 'succeeded' WHEN $4 THEN 'failed' ELSE status END,
       delivered_at = CASE WHEN $3::text IS NULL THEN now() ELSE delivered_at END
     WHERE id = $1`,
    [d.id, code, error, last],
  );
  if (error) {
    deps.log.info({ deliveryId, error }, "webhook delivery failed");
    throw new Error(error);
  }
  return "delivered";
}

/** Works the webhook queue in this process: `concurrency` deliveries at a time. */
export async function startWebhookWorkers(
  queue: WorkQueue,
  deps: WebhookDeps,
  concurrency: number,
  pollingSeconds: number,
): Promise<void> {
  await queue.work<WebhookJob>(WEBHOOK_QUEUE, concurrency, pollingSeconds, async (job) => {
    await deliverWebhook(deps, job.data.deliveryId, job.retryCount >= job.retryLimit);
  });
}
