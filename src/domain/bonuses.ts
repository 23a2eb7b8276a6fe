/** Performance bonus rules of campaigns: tiers on a partner's monthly action count or revenue. */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { invalid } from "./errors.js";
import { getCampaign } from "./programs.js";

export interface BonusRule {
  id: number;
  campaignId: number;
  name: string;
  basis: "actions" | "revenue";
  kind: "raise_all" | "raise_past_tier" | "fixed";
  tiers: { from: number; value: number }[];
  createdAt: Date;
}

export async function createBonusRule(
  db: Kysely<Database>,
  actor: Actor,
  campaignId: number,
  input: Omit<BonusRule, "id" | "campaignId" | "createdAt">,
): Promise<BonusRule> {
  await getCampaign(db, actor, campaignId);
  input.tiers.forEach((t, i) => {
    if (i > 0 && t.from <= input.tiers[i - 1]!.from) {
      throw invalid([{ path: `tiers.${i}.from`, message: "thresholds must be ascending" }]);
    }
    if (input.kind !== "fixed" && t.value > 100) {
      throw invalid([{ path: `tiers.${i}.value`, message: "a raise is a percentage, at most 100" }]);
    }
  });
  const row = await db
    .insertInto("bonus_rules")
    .values({
      account_id: actor.accountId,
      campaign_id: campaignId,
      name: input.name,
      basis: input.basis,
      kind: input.kind,
      tiers: JSON.stringify(input.tiers),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(
    db,
    actor,
    "bonus_rule.created",
    { type: "bonus_rule", id: String(row.id) },
    { campaignId, ...input },
  );
  return toRule(row);
}

export async function listBonusRules(
  db: Kysely<Database>,
  actor: Actor,
  campaignId: number,
): Promise<BonusRule[]> {
  await getCampaign(db, actor, campaignId);
  const rows = await db
    .selectFrom("bonus_rules")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("campaign_id", "=", campaignId)
    .orderBy("id")
    .execute();
  return rows.map(toRule);
}

function toRule(r: {
  id: number;
  campaign_id: number;
  name: string;
  basis: BonusRule["basis"];
  kind: BonusRule["kind"];
  tiers: BonusRule["tiers"];
  created_at: Date;
}): BonusRule {
  return {
    id: r.id,
    campaignId: r.campaign_id,
    name: r.name,
    basis: r.basis,
    kind: r.kind,
    tiers: r.tiers,
    createdAt: r.created_at,
  };
}
