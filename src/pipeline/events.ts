/**
 * Events about an account's files, sent to its webhook endpoints (domain/webhooks.ts). An event is emitted in
 * the transaction that makes it true (a Transfer received, processed, generated…): one delivery row per
 * endpoint that wants it, and its delivery job, commit with it or not at all. The payload is the Standard
 * Webhooks shape: `{ type, timestamp, data }`; the event id (`webhook-id`) is the same for every endpoint.
 */
import { CompiledQuery, type Kysely } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import type { WebhookEvent } from "../domain/webhooks.js";
import type { JobQueue, SqlClient } from "./jobs.js";

/** What an event says about a Transfer. */
export interface TransferEventData {
  transferId: string;
  connectionId: string;
  direction: "inbound" | "outbound";
  fileName: string;
  size: number;
  sha256: string;
  status: string;
  rows?: { total: number; ok: number; error: number; duplicate: number } | null;
  error?: string | null;
  reprocessOf?: string | null;
}

/** A Kysely transaction as the raw SQL executor events and jobs take. */
export function sqlClientOf(trx: Kysely<Database>): SqlClient {
  return {
    query: async (text, values) => ({
      rows: (await trx.executeQuery(CompiledQuery.raw(text, values ?? []))).rows as unknown[],
    }),
  };
}

/**
 * Records `type` for every active endpoint of the account that wants it (or only `endpointId`, which then
 * gets it whatever its filter: a test event) and enqueues their deliveries, all on `client`'s transaction.
 * Returns how many endpoints it was for.
 */
export async function emitEvent(
  client: SqlClient,
  queue: Pick<JobQueue, "enqueueWebhook"> & Partial<Pick<JobQueue, "enqueueNotification">>,
  accountId: string,
  type: WebhookEvent,
  data: object,
  endpointId?: string,
): Promise<number> {
  const { rows } = (await client.query(
    endpointId
      ? "SELECT id FROM webhook_endpoints WHERE account_id = $1 AND id = $3 AND status = 'active' AND $2::text IS NOT NULL"
      : "SELECT id FROM webhook_endpoints WHERE account_id = $1 AND status = 'active' AND (cardinality(events) = 0 OR $2 = ANY (events))",
    endpointId ? [accountId, type, endpointId] : [accountId, type],
  )) as { rows: { id: string }[] };
  const payload = JSON.stringify({ type, timestamp: new Date().toISOString(), data });
  // Users' email subscriptions (not for a test event, which is one endpoint's).
  if (!endpointId && "enqueueNotification" in queue) {
    await notify(client, queue as Pick<JobQueue, "enqueueNotification">, accountId, type, data, payload);
  }
  if (rows.length === 0) return 0;
  const eventId = `msg_${newId()}`;
  for (const endpoint of rows) {
    const deliveryId = newId();
    await client.query(
      `INSERT INTO webhook_deliveries (id, account_id, endpoint_id, event_id, event_type, payload)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
      [deliveryId, accountId, endpoint.id, eventId, type, payload],
    );
    await queue.enqueueWebhook(client, { deliveryId });
  }
  return rows.length;
}

/** One notification per subscription that wants the event; immediate ones get their mail job. */
async function notify(
  client: SqlClient,
  queue: Pick<JobQueue, "enqueueNotification">,
  accountId: string,
  type: WebhookEvent,
  data: object,
  payload: string,
): Promise<void> {
  const connectionId = (data as { connectionId?: string }).connectionId ?? null;
  const { rows } = (await client.query(
    `SELECT s.id, s.mode FROM notification_subscriptions s JOIN users u ON u.id = s.user_id
     WHERE s.account_id = $1 AND u.disabled_at IS NULL
       AND (cardinality(s.events) = 0 OR $2 = ANY (s.events))
       AND (s.connection_id IS NULL OR s.connection_id = $3::uuid)`,
    [accountId, type, connectionId],
  )) as { rows: { id: string; mode: string }[] };
  for (const s of rows) {
    const id = newId();
    await client.query(
      `INSERT INTO notifications (id, account_id, subscription_id, event_type, payload)
       VALUES ($1, $2, $3, $4, $5::jsonb)`,
      [id, accountId, s.id, type, payload],
    );
    if (s.mode === "immediate") await queue.enqueueNotification(client, { notificationId: id });
  }
}

/** The event of a Transfer's status, if it has one. */
export function transferEvent(status: string): WebhookEvent | null {
  const type = `file.${status}`;
  return type === "file.processing" ? null : (type as WebhookEvent);
}
