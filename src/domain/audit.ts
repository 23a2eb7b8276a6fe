/** The audit trail: one append-only row per change, login or download, never holding a secret. */
import type { Kysely } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import type { Actor } from "./actor.js";

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

/** The events about one object of the actor's account, oldest first. */
export async function listAuditEvents(
  db: Kysely<Database>,
  actor: Actor,
  object: { type: string; id: string },
): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom("audit_events")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("object_type", "=", object.type)
    .where("object_id", "=", object.id)
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
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
