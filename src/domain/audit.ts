/** The audit trail: one append-only row per change, login or download, never holding a secret. */
import type { Kysely } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { type Page, type PageRequest, pageBounds, toPage } from "./page.js";

/** Records that `actor` did `action` (e.g. `credential.password_reset`) to an object. */
export async function audit(
  db: Kysely<Database>,
  actor: Actor,
  action: string,
  object: { type: string; id: string | null },
  details: Record<string, unknown> = {},
): Promise<void> {
  await db
    .insertInto("audit_events")
    .values({
      id: newId(),
      account_id: actor.accountId,
      actor_type: actor.type,
      actor_id: actor.id,
      action,
      object_type: object.type,
      object_id: object.id,
      details: JSON.stringify(details),
      ip: actor.ip ?? null,
    })
    .execute();
}

/** An audit event as the API shows it. */
export interface AuditEvent {
  id: string;
  action: string;
  actorType: string;
  actorId: string | null;
  objectType: string;
  objectId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
  at: Date;
}

/**
 * The events about one object of the actor's account, a page at a time: oldest first, or newest first with
 * `order: "desc"` (keyset on the time-ordered id, served by audit_events_object however long the trail).
 */
export async function listAuditEvents(
  db: Kysely<Database>,
  actor: Actor,
  object: { type: string; id: string },
  page: PageRequest & { order?: "asc" | "desc" | undefined } = {},
): Promise<Page<AuditEvent>> {
  const { limit, after } = pageBounds(page);
  const desc = page.order === "desc";
  let q = db
    .selectFrom("audit_events")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("object_type", "=", object.type)
    .where("object_id", "=", object.id)
    .orderBy("id", desc ? "desc" : "asc")
    .limit(limit + 1);
  if (after) q = q.where("id", desc ? "<" : ">", after);
  return toPage(await q.execute(), limit, (r) => ({
    id: r.id,
    action: r.action,
    actorType: r.actor_type,
    actorId: r.actor_id,
    objectType: r.object_type,
    objectId: r.object_id,
    details: r.details,
    ip: r.ip,
    at: r.at,
  }));
}
