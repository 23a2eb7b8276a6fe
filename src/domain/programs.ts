/**
 * Campaigns (programs) and their action trackers (event types with payout rules): platform data that inbound
 * files refer to by id. All scoped to the actor's account.
 */
import type { Kysely, Selectable } from "kysely";
import type { ActionTrackersTable, CampaignsTable, Database, PayoutType } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, invalid, isUniqueViolation, notFound } from "./errors.js";
import { numericPageBounds, type Page, type PageRequest, toNumericPage } from "./page.js";
import { getPartner } from "./partners.js";

export interface Campaign {
  id: number;
  name: string;
  currency: string;
  status: "active" | "paused";
  createdAt: Date;
}

export interface PayoutRule {
  type: PayoutType;
  /** Percent of the amount (0..100), or a fixed sum per action. */
  value: number;
}

export interface ActionTracker {
  id: number;
  campaignId: number;
  name: string;
  payout: PayoutRule;
  lockDays: number;
  currency: string;
  /** Partners paid by their own rule on this tracker. */
  partnerPayouts: { partnerId: number; payout: PayoutRule }[];
  createdAt: Date;
}

const toCampaign = (r: Selectable<CampaignsTable>): Campaign => ({
  id: r.id,
  name: r.name,
  currency: r.currency,
  status: r.status,
  createdAt: r.created_at,
});

// --- campaigns ----------------------------------------------------------------------------------------------

export async function createCampaign(
  db: Kysely<Database>,
  actor: Actor,
  input: { name: string; currency?: string | undefined },
): Promise<Campaign> {
  const account = await db
    .selectFrom("accounts")
    .select("currency")
    .where("id", "=", actor.accountId)
    .executeTakeFirstOrThrow();
  try {
    const row = await db
      .insertInto("campaigns")
      .values({ account_id: actor.accountId, name: input.name, currency: input.currency ?? account.currency })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(db, actor, "campaign.created", { type: "campaign", id: String(row.id) }, { name: row.name });
    return toCampaign(row);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new DomainError("CONFLICT", `A campaign named "${input.name}" exists already`);
    throw err;
  }
}

export async function listCampaigns(
  db: Kysely<Database>,
  actor: Actor,
  req: PageRequest,
): Promise<Page<Campaign>> {
  const { limit, after } = numericPageBounds(req);
  const rows = await db
    .selectFrom("campaigns")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", ">", after)
    .orderBy("id")
    .limit(limit + 1)
    .execute();
  return toNumericPage(rows, limit, toCampaign);
}

export async function getCampaign(db: Kysely<Database>, actor: Actor, id: number): Promise<Campaign> {
  const row = await db
    .selectFrom("campaigns")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("Campaign");
  return toCampaign(row);
}

// --- action trackers ----------------------------------------------------------------------------------------

async function toTrackers(
  db: Kysely<Database>,
  rows: Selectable<ActionTrackersTable>[],
): Promise<ActionTracker[]> {
  const overrides = rows.length
    ? await db
        .selectFrom("tracker_payouts")
        .selectAll()
        .where(
          "tracker_id",
          "in",
          rows.map((r) => r.id),
        )
        .orderBy("partner_id")
        .execute()
    : [];
  return rows.map((r) => ({
    id: r.id,
    campaignId: r.campaign_id,
    name: r.name,
    payout: { type: r.payout_type, value: Number(r.payout_value) },
    lockDays: r.lock_days,
    currency: r.currency,
    partnerPayouts: overrides
      .filter((o) => o.tracker_id === r.id)
      .map((o) => ({
        partnerId: o.partner_id,
        payout: { type: o.payout_type, value: Number(o.payout_value) },
      })),
    createdAt: r.created_at,
  }));
}

function checkRule(rule: PayoutRule, path: string): void {
  if (rule.type === "percent" && rule.value > 100) {
    throw invalid([{ path: `${path}.value`, message: "a percentage is at most 100" }]);
  }
}

export async function createTracker(
  db: Kysely<Database>,
  actor: Actor,
  campaignId: number,
  input: { name: string; payout: PayoutRule; lockDays?: number | undefined },
): Promise<ActionTracker> {
  const campaign = await getCampaign(db, actor, campaignId);
  checkRule(input.payout, "payout");
  const row = await db
    .insertInto("action_trackers")
    .values({
      account_id: actor.accountId,
      campaign_id: campaign.id,
      name: input.name,
      payout_type: input.payout.type,
      payout_value: input.payout.value,
      lock_days: input.lockDays ?? 30,
      currency: campaign.currency,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(
    db,
    actor,
    "tracker.created",
    { type: "action_tracker", id: String(row.id) },
    {
      name: row.name,
      campaignId,
      payout: input.payout,
    },
  );
  return (await toTrackers(db, [row]))[0]!;
}

export async function listTrackers(
  db: Kysely<Database>,
  actor: Actor,
  campaignId: number,
): Promise<ActionTracker[]> {
  await getCampaign(db, actor, campaignId);
  const rows = await db
    .selectFrom("action_trackers")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("campaign_id", "=", campaignId)
    .orderBy("id")
    .execute();
  return toTrackers(db, rows);
}

export async function getTracker(db: Kysely<Database>, actor: Actor, id: number): Promise<ActionTracker> {
  const row = await db
    .selectFrom("action_trackers")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("Action tracker");
  return (await toTrackers(db, [row]))[0]!;
}

/** Changes a tracker's rule or lock period; actions already recorded keep their payout until modified. */
export async function updateTracker(
  db: Kysely<Database>,
  actor: Actor,
  id: number,
  input: { name?: string | undefined; payout?: PayoutRule | undefined; lockDays?: number | undefined },
): Promise<ActionTracker> {
  const before = await getTracker(db, actor, id);
  if (input.payout) checkRule(input.payout, "payout");
  await db
    .updateTable("action_trackers")
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.payout ? { payout_type: input.payout.type, payout_value: input.payout.value } : {}),
      ...(input.lockDays !== undefined ? { lock_days: input.lockDays } : {}),
    })
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .execute();
  await audit(
    db,
    actor,
    "tracker.updated",
    { type: "action_tracker", id: String(id) },
    {
      from: { name: before.name, payout: before.payout, lockDays: before.lockDays },
      to: input,
    },
  );
  return getTracker(db, actor, id);
}

/** Sets (or with null, removes) a partner's own payout rule on a tracker. */
export async function setPartnerPayout(
  db: Kysely<Database>,
  actor: Actor,
  trackerId: number,
  partnerId: number,
  payout: PayoutRule | null,
): Promise<ActionTracker> {
  await getTracker(db, actor, trackerId);
  await getPartner(db, actor, partnerId);
  if (payout) {
    checkRule(payout, "payout");
    await db
      .insertInto("tracker_payouts")
      .values({
        account_id: actor.accountId,
        tracker_id: trackerId,
        partner_id: partnerId,
        payout_type: payout.type,
        payout_value: payout.value,
      })
      .onConflict((oc) =>
        oc
          .columns(["tracker_id", "partner_id"])
          .doUpdateSet({ payout_type: payout.type, payout_value: payout.value }),
      )
      .execute();
  } else {
    await db
      .deleteFrom("tracker_payouts")
      .where("account_id", "=", actor.accountId)
      .where("tracker_id", "=", trackerId)
      .where("partner_id", "=", partnerId)
      .execute();
  }
  await audit(
    db,
    actor,
    "tracker.partner_payout_set",
    { type: "action_tracker", id: String(trackerId) },
    {
      partnerId,
      payout,
    },
  );
  return getTracker(db, actor, trackerId);
}
