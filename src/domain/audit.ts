/** The audit trail: one append-only row per change, login or download, never holding a secret. */
import type { Kysely } from "kysely";
import { keyAt, newId } from "../db/ids.js";
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
  return listAccountAudit(db, actor, { objectType: object.type, objectId: object.id }, page);
}

function toEvent(r: {
  id: string;
  action: string;
  actor_type: string;
  actor_id: string | null;
  object_type: string;
  object_id: string | null;
  details: unknown;
  ip: string | null;
  at: Date;
}): AuditEvent {
  return {
    id: r.id,
    action: r.action,
    actorType: r.actor_type,
    actorId: r.actor_id,
    objectType: r.object_type,
    objectId: r.object_id,
    details: r.details as Record<string, unknown>,
    ip: r.ip,
    at: r.at,
  };
}

/** What the account-wide trail can be narrowed to; every field is optional and they combine. */
export interface AuditFilter {
  /** Events at or after / before these times. */
  since?: Date | undefined;
  until?: Date | undefined;
  /** An action (`credential.password_reset`), or a kind of them ending in a dot (`credential.`). */
  action?: string | undefined;
  /** Who acted: a user, an API token, a credential (a file client's login), or the system. */
  actorType?: "user" | "token" | "credential" | "system" | undefined;
  actorId?: string | undefined;
  /** What it was about. */
  objectType?: string | undefined;
  objectId?: string | undefined;
}

/**
 * The actor's account's whole trail, narrowed by `filter`, a page at a time: oldest first, or newest first
 * with `order: "desc"`. Keyset on the time-ordered id (audit_events_account): the time bounds are id bounds.
 */
export async function listAccountAudit(
  db: Kysely<Database>,
  actor: Actor,
  filter: AuditFilter,
  page: PageRequest & { order?: "asc" | "desc" | undefined } = {},
): Promise<Page<AuditEvent>> {
  const { limit, after } = pageBounds(page);
  const desc = page.order === "desc";
  let q = db
    .selectFrom("audit_events")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .orderBy("id", desc ? "desc" : "asc")
    .limit(limit + 1);
  if (after) q = q.where("id", desc ? "<" : ">", after);
  if (filter.since) q = q.where("id", ">=", keyAt(filter.since));
  if (filter.until) q = q.where("id", "<", keyAt(filter.until));
  if (filter.action?.endsWith("."))
    q = q.where("action", "like", `${filter.action.replace(/[\\%_]/g, "\\$&")}%`);
  else if (filter.action) q = q.where("action", "=", filter.action);
  if (filter.actorType) q = q.where("actor_type", "=", filter.actorType);
  if (filter.actorId) q = q.where("actor_id", "=", filter.actorId);
  if (filter.objectType) q = q.where("object_type", "=", filter.objectType);
  if (filter.objectId) q = q.where("object_id", "=", filter.objectId);
  return toPage(await q.execute(), limit, toEvent);
}
