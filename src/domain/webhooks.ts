/**
 * Webhooks: an account's HTTPS endpoints that hear about its files (received, processed, failed, generated,
 * delivered…), each event signed per the Standard Webhooks specification with the endpoint's secret. This
 * module keeps the endpoints and reads the delivery log; events are emitted and delivered by the pipeline
 * (pipeline/events.ts, pipeline/webhooks.ts). Secrets are sealed under the master key and shown once, when
 * made or rotated; a rotated secret keeps signing beside the new one for a day, so receivers can switch.
 */
import { randomBytes } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import { isId, newId } from "../db/ids.js";
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from "../db/schema.js";
import { type Actor, requireAccountAdmin } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, invalid, notFound } from "./errors.js";
import type { SecretBox } from "./secretbox.js";
import { WEBHOOK_EVENTS } from "./webhook-events.js";

export { WEBHOOK_EVENTS, type WebhookEvent } from "./webhook-events.js";

/** How long a rotated secret still signs, beside the new one. */
export const PREVIOUS_SECRET_HOURS = 24;
/** Endpoints per account. */
export const MAX_ENDPOINTS = 20;

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  /** Event types sent; empty: every event. */
  events: string[];
  status: "active" | "disabled";
  createdAt: Date;
  updatedAt: Date;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  payload: unknown;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  responseCode: number | null;
  lastError: string | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
}

/** The door to the delivery queue (pipeline/jobs.ts fills it). */
export interface WebhookQueue {
  enqueueWebhook(trx: Kysely<Database>, job: { deliveryId: string }): Promise<void>;
  wake(): void;
}

const toEndpoint = (r: Selectable<WebhookEndpointsTable>): WebhookEndpoint => ({
  id: r.id,
  url: r.url,
  description: r.description,
  events: r.events,
  status: r.status,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toDelivery = (r: Selectable<WebhookDeliveriesTable>): WebhookDelivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  eventId: r.event_id,
  eventType: r.event_type,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  responseCode: r.response_code,
  lastError: r.last_error,
  createdAt: r.created_at,
  lastAttemptAt: r.last_attempt_at,
  deliveredAt: r.delivered_at,
});

/** A new signing secret in the Standard Webhooks form: whsec_ and 32 random bytes in base64. */
const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

/** An endpoint's URL: http(s) only, no credentials in it (the addresses it may reach are checked when sent). */
function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid([{ path: "url", message: "is not a URL" }]);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw invalid([{ path: "url", message: "must be an https:// (or http://) URL" }]);
  }
  if (parsed.username || parsed.password) {
    throw invalid([{ path: "url", message: "must not hold a user name or password" }]);
  }
  return parsed.toString();
}

function checkEvents(events: string[]): string[] {
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length) {
    throw invalid([{ path: "events", message: `unknown events: ${unknown.join(", ")}` }]);
  }
  return [...new Set(events)];
}

async function findEndpoint(db: Kysely<Database>, actor: Actor, id: string) {
  if (!isId(id)) throw notFound("Webhook endpoint");
  const row = await db
    .selectFrom("webhook_endpoints")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("Webhook endpoint");
  return row;
}

export async function listEndpoints(db: Kysely<Database>, actor: Actor): Promise<WebhookEndpoint[]> {
  const rows = await db
    .selectFrom("webhook_endpoints")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .orderBy("created_at")
    .execute();
  return rows.map(toEndpoint);
}

export async function getEndpoint(db: Kysely<Database>, actor: Actor, id: string): Promise<WebhookEndpoint> {
  return toEndpoint(await findEndpoint(db, actor, id));
}

/** Adds an endpoint; its secret is in the answer only. */
export async function createEndpoint(
  db: Kysely<Database>,
  box: SecretBox,
  actor: Actor,
  input: { url: string; description?: string | undefined; events?: string[] | undefined },
): Promise<WebhookEndpoint & { secret: string }> {
  requireAccountAdmin(actor, "add webhook endpoints");
  const url = checkUrl(input.url);
  const events = checkEvents(input.events ?? []);
  const secret = newSecret();
  const row = await db.transaction().execute(async (trx) => {
    // The account row serialises additions, so the cap holds under concurrent requests.
    await trx.selectFrom("accounts").select("id").where("id", "=", actor.accountId).forUpdate().execute();
    const { n } = await trx
      .selectFrom("webhook_endpoints")
      .select((e) => e.fn.countAll<number>().as("n"))
      .where("account_id", "=", actor.accountId)
      .executeTakeFirstOrThrow();
    if (Number(n) >= MAX_ENDPOINTS) {
      throw new DomainError("CONFLICT", `An account has at most ${MAX_ENDPOINTS} webhook endpoints`);
    }
    return trx
      .insertInto("webhook_endpoints")
      .values({
        id: newId(),
        account_id: actor.accountId,
        url,
        description: input.description ?? "",
        events,
        secret_sealed: box.seal(secret),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
  await audit(db, actor, "webhook.created", { type: "webhook", id: row.id }, { url, events });
  return { ...toEndpoint(row), secret };
}

export async function updateEndpoint(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
  change: {
    url?: string | undefined;
    description?: string | undefined;
    events?: string[] | undefined;
    status?: "active" | "disabled" | undefined;
  },
): Promise<WebhookEndpoint> {
  requireAccountAdmin(actor, "change webhook endpoints");
  const before = await findEndpoint(db, actor, id);
  const row = await db
    .updateTable("webhook_endpoints")
    .set({
      ...(change.url !== undefined ? { url: checkUrl(change.url) } : {}),
      ...(change.description !== undefined ? { description: change.description } : {}),
      ...(change.events !== undefined ? { events: checkEvents(change.events) } : {}),
      ...(change.status !== undefined ? { status: change.status } : {}),
      updated_at: new Date(),
    })
    .where("id", "=", before.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, actor, "webhook.updated", { type: "webhook", id }, { ...change });
  return toEndpoint(row);
}

/** A new secret (in the answer only); the one before keeps signing beside it for PREVIOUS_SECRET_HOURS. */
export async function rotateSecret(
  db: Kysely<Database>,
  box: SecretBox,
  actor: Actor,
  id: string,
): Promise<WebhookEndpoint & { secret: string }> {
  requireAccountAdmin(actor, "rotate webhook secrets");
  const before = await findEndpoint(db, actor, id);
  const secret = newSecret();
  const row = await db
    .updateTable("webhook_endpoints")
    .set({
      secret_sealed: box.seal(secret),
      previous_secret_sealed: before.secret_sealed,
      previous_secret_until: new Date(Date.now() + PREVIOUS_SECRET_HOURS * 3600_000),
      updated_at: new Date(),
    })
    .where("id", "=", before.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, actor, "webhook.secret_rotated", { type: "webhook", id });
  return { ...toEndpoint(row), secret };
}

/** An endpoint's deliveries, newest first (at most `limit`). */
export async function listDeliveries(
  db: Kysely<Database>,
  actor: Actor,
  endpointId: string,
  limit = 50,
): Promise<WebhookDelivery[]> {
  await findEndpoint(db, actor, endpointId);
  const rows = await db
    .selectFrom("webhook_deliveries")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("endpoint_id", "=", endpointId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map(toDelivery);
}

/** Sends a delivery again (a new job; its attempts go on counting). */
export async function redeliver(
  db: Kysely<Database>,
  queue: WebhookQueue,
  actor: Actor,
  deliveryId: string,
): Promise<WebhookDelivery> {
  requireAccountAdmin(actor, "redeliver webhook events");
  if (!isId(deliveryId)) throw notFound("Webhook delivery");
  const row = await db.transaction().execute(async (trx) => {
    const updated = await trx
      .updateTable("webhook_deliveries")
      .set({ status: "pending" })
      .where("account_id", "=", actor.accountId)
      .where("id", "=", deliveryId)
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw notFound("Webhook delivery");
    await queue.enqueueWebhook(trx, { deliveryId });
    return updated;
  });
  queue.wake();
  await audit(db, actor, "webhook.redelivered", { type: "webhook", id: row.endpoint_id }, { deliveryId });
  return toDelivery(row);
}
