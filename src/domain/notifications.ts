/**
 * Email notifications: a user's subscriptions to events (domain/webhook-events.ts) of one connection or all,
 * mailed at once or in a daily digest (pipeline/notify.ts). A user manages their own; the account's admins
 * see and remove everyone's and may subscribe a user of the account.
 */
import type { Kysely, Selectable } from "kysely";
import { isId, newId } from "../db/ids.js";
import type { Database, NotificationSubscriptionsTable } from "../db/schema.js";
import { type Actor, isAccountAdmin } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, invalid, notFound } from "./errors.js";
import { ownedBy } from "./owned.js";
import { WEBHOOK_EVENTS } from "./webhook-events.js";

/** Subscriptions per user. */
export const MAX_SUBSCRIPTIONS = 50;

export interface Subscription {
  id: string;
  userId: string;
  email: string;
  /** Null: every connection. */
  connectionId: string | null;
  /** Empty: every event. */
  events: string[];
  mode: "immediate" | "digest";
  createdAt: Date;
}

const toSubscription = (r: Selectable<NotificationSubscriptionsTable>): Subscription => ({
  id: r.id,
  userId: r.user_id,
  email: r.email,
  connectionId: r.connection_id,
  events: r.events,
  mode: r.mode,
  createdAt: r.created_at,
});

/** No user (a token that is not an admin's sees no one's subscriptions). */
const NOBODY = "00000000-0000-0000-0000-000000000000";

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export async function listSubscriptions(db: Kysely<Database>, actor: Actor): Promise<Subscription[]> {
  let q = db.selectFrom("notification_subscriptions").selectAll().where("account_id", "=", actor.accountId);
  if (!isAccountAdmin(actor)) q = q.where("user_id", "=", actor.type === "user" ? actor.id! : NOBODY);
  return (await q.orderBy("created_at").execute()).map(toSubscription);
}

export async function createSubscription(
  db: Kysely<Database>,
  actor: Actor,
  input: {
    userId?: string | undefined;
    email?: string | undefined;
    connectionId?: string | null | undefined;
    events?: string[] | undefined;
    mode?: "immediate" | "digest" | undefined;
  },
): Promise<Subscription> {
  const userId = input.userId ?? (actor.type === "user" ? actor.id! : undefined);
  if (!userId) throw invalid([{ path: "userId", message: "is required when an API token subscribes" }]);
  if (!(actor.type === "user" && actor.id === userId) && !isAccountAdmin(actor)) {
    throw new DomainError("FORBIDDEN", "Only an admin of the account can subscribe another user");
  }
  const user = isId(userId)
    ? await db
        .selectFrom("users")
        .select(["id", "login"])
        .where("account_id", "=", actor.accountId)
        .where("id", "=", userId)
        .executeTakeFirst()
    : undefined;
  if (!user) throw invalid([{ path: "userId", message: "no user with this id in your account" }]);
  const email = (input.email ?? (EMAIL.test(user.login) ? user.login : "")).trim();
  if (!EMAIL.test(email)) {
    throw invalid([{ path: "email", message: "must be an email address (the user's login is none)" }]);
  }
  const connectionId = input.connectionId ?? null;
  if (connectionId && !(await ownedBy(db, "connections", actor.accountId, connectionId))) {
    throw invalid([{ path: "connectionId", message: "no connection with this id in your account" }]);
  }
  const events = [...new Set(input.events ?? [])];
  const unknown = events.filter(
    (e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e) || e === "webhook.test",
  );
  if (unknown.length) throw invalid([{ path: "events", message: `unknown events: ${unknown.join(", ")}` }]);
  const row = await db.transaction().execute(async (trx) => {
    await trx.selectFrom("users").select("id").where("id", "=", user.id).forUpdate().execute();
    const { n } = await trx
      .selectFrom("notification_subscriptions")
      .select((e) => e.fn.countAll<number>().as("n"))
      .where("user_id", "=", user.id)
      .executeTakeFirstOrThrow();
    if (Number(n) >= MAX_SUBSCRIPTIONS) {
      throw new DomainError("CONFLICT", `A user has at most ${MAX_SUBSCRIPTIONS} subscriptions`);
    }
    return trx
      .insertInto("notification_subscriptions")
      .values({
        id: newId(),
        account_id: actor.accountId,
        user_id: user.id,
        email,
        connection_id: connectionId,
        events,
        mode: input.mode ?? "immediate",
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  });
  await audit(
    db,
    actor,
    "notification.subscribed",
    { type: "subscription", id: row.id },
    {
      userId: user.id,
      email,
      connectionId,
      events,
      mode: row.mode,
    },
  );
  return toSubscription(row);
}

export async function deleteSubscription(db: Kysely<Database>, actor: Actor, id: string): Promise<void> {
  if (!isId(id)) throw notFound("Subscription");
  let q = db
    .deleteFrom("notification_subscriptions")
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id);
  if (!isAccountAdmin(actor)) q = q.where("user_id", "=", actor.type === "user" ? actor.id! : NOBODY);
  const done = await q.executeTakeFirst();
  if (Number(done.numDeletedRows) === 0) throw notFound("Subscription");
  await audit(db, actor, "notification.unsubscribed", { type: "subscription", id });
}
