/**
 * What inbound files made: clicks, actions (with items and their modification history) and catalogs. Read
 * here; written only by processing (pipeline/process.ts and datatypes/). All scoped to the actor's account.
 */
import type { Kysely, Selectable } from "kysely";
import type { ActionsTable, Database } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { notFound } from "./errors.js";
import { numericPageBounds, type Page, type PageRequest, toNumericPage } from "./page.js";

export interface Click {
  clickId: string;
  campaignId: number;
  partnerId: number;
  adId: number | null;
  eventDate: Date;
  ipAddress: string | null;
  userAgent: string | null;
  referringUrl: string | null;
  landingPageUrl: string | null;
  subIds: (string | null)[];
  transferId: string | null;
  updatedAt: Date;
}

export async function getClick(db: Kysely<Database>, actor: Actor, clickId: string): Promise<Click> {
  const r = await db
    .selectFrom("clicks")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("click_id", "=", clickId)
    .executeTakeFirst();
  if (!r) throw notFound("Click");
  return {
    clickId: r.click_id,
    campaignId: r.campaign_id,
    partnerId: r.partner_id,
    adId: r.ad_id,
    eventDate: r.event_date as Date,
    ipAddress: r.ip_address,
    userAgent: r.user_agent,
    referringUrl: r.referring_url,
    landingPageUrl: r.landing_page_url,
    subIds: [r.sub_id1, r.sub_id2, r.sub_id3],
    transferId: r.transfer_id,
    updatedAt: r.updated_at as Date,
  };
}

export interface Action {
  id: number;
  campaignId: number;
  actionTrackerId: number;
  partnerId: number;
  orderId: string;
  eventDate: Date;
  clickId: string | null;
  promoCode: string | null;
  adId: number | null;
  customerId: string | null;
  customerStatus: string | null;
  currency: string;
  amount: number;
  payout: number;
  originalAmount: number;
  originalPayout: number;
  state: string;
  lockingDate: Date;
  modificationCount: number;
  lastReason: string | null;
  transferId: string;
  line: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface ActionDetail extends Action {
  items: { sku: string; name: string | null; category: string | null; quantity: number; amount: number }[];
  modifications: {
    reason: string;
    dispositionCode: string | null;
    oldAmount: number;
    newAmount: number;
    oldPayout: number;
    newPayout: number;
    oldState: string;
    newState: string;
    transferId: string | null;
    line: number | null;
    createdAt: Date;
  }[];
}

const toAction = (r: Selectable<ActionsTable>): Action => ({
  id: r.id,
  campaignId: r.campaign_id,
  actionTrackerId: r.tracker_id,
  partnerId: r.partner_id,
  orderId: r.order_id,
  eventDate: r.event_date as Date,
  clickId: r.click_id,
  promoCode: r.promo_code,
  adId: r.ad_id,
  customerId: r.customer_id,
  customerStatus: r.customer_status,
  currency: r.currency,
  amount: Number(r.amount),
  payout: Number(r.payout),
  originalAmount: Number(r.original_amount),
  originalPayout: Number(r.original_payout),
  state: r.state,
  lockingDate: r.locking_date as Date,
  modificationCount: r.modification_count,
  lastReason: r.last_reason,
  transferId: r.transfer_id,
  line: r.line,
  createdAt: r.created_at,
  updatedAt: r.updated_at as Date,
});

export interface ActionFilter extends PageRequest {
  campaignId?: number | undefined;
  partnerId?: number | undefined;
  state?: string | undefined;
  orderId?: string | undefined;
  transferId?: string | undefined;
}

export async function listActions(
  db: Kysely<Database>,
  actor: Actor,
  f: ActionFilter,
): Promise<Page<Action>> {
  const { limit, after } = numericPageBounds(f);
  let q = db
    .selectFrom("actions")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", ">", after)
    .orderBy("id")
    .limit(limit + 1);
  if (f.campaignId !== undefined) q = q.where("campaign_id", "=", f.campaignId);
  if (f.partnerId !== undefined) q = q.where("partner_id", "=", f.partnerId);
  if (f.state !== undefined) q = q.where("state", "=", f.state as Action["state"] as never);
  if (f.orderId !== undefined) q = q.where("order_id", "=", f.orderId);
  if (f.transferId !== undefined) q = q.where("transfer_id", "=", f.transferId);
  return toNumericPage(await q.execute(), limit, toAction);
}

export async function getAction(db: Kysely<Database>, actor: Actor, id: number): Promise<ActionDetail> {
  const r = await db
    .selectFrom("actions")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!r) throw notFound("Action");
  const items = await db
    .selectFrom("action_items")
    .select(["sku", "name", "category", "quantity", "amount"])
    .where("action_id", "=", id)
    .orderBy("position")
    .execute();
  const mods = await db
    .selectFrom("action_modifications")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("action_id", "=", id)
    .orderBy("id")
    .execute();
  return {
    ...toAction(r),
    items: items.map((i) => ({ ...i, amount: Number(i.amount) })),
    modifications: mods.map((m) => ({
      reason: m.reason,
      dispositionCode: m.disposition_code,
      oldAmount: Number(m.old_amount),
      newAmount: Number(m.new_amount),
      oldPayout: Number(m.old_payout),
      newPayout: Number(m.new_payout),
      oldState: m.old_state,
      newState: m.new_state,
      transferId: m.transfer_id,
      line: m.line,
      createdAt: m.created_at,
    })),
  };
}

export interface Catalog {
  id: number;
  connectionId: string;
  name: string;
  itemCount: number;
  transferId: string | null;
  updatedAt: Date;
}

export async function listCatalogs(db: Kysely<Database>, actor: Actor): Promise<Catalog[]> {
  const rows = await db
    .selectFrom("catalogs")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .orderBy("id")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    connectionId: r.connection_id,
    name: r.name,
    itemCount: r.item_count,
    transferId: r.transfer_id,
    updatedAt: r.updated_at as Date,
  }));
}

export interface CatalogItem {
  id: string;
  title: string | null;
  price: number | null;
  salePrice: number | null;
  currency: string | null;
  availability: string | null;
  brand: string | null;
  link: string | null;
  removedAt: Date | null;
  updatedAt: Date;
}

/** Items of a catalog, by item id; removed ones only when asked. Keyset on the item id. */
export async function listCatalogItems(
  db: Kysely<Database>,
  actor: Actor,
  catalogId: number,
  req: { limit?: number | undefined; after?: string | undefined; includeRemoved?: boolean | undefined },
): Promise<{ items: CatalogItem[]; nextAfter: string | null }> {
  const cat = await db
    .selectFrom("catalogs")
    .select("id")
    .where("account_id", "=", actor.accountId)
    .where("id", "=", catalogId)
    .executeTakeFirst();
  if (!cat) throw notFound("Catalog");
  const limit = Math.min(Math.max(req.limit ?? 50, 1), 200);
  let q = db
    .selectFrom("catalog_items")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("catalog_id", "=", catalogId)
    .orderBy("item_id")
    .limit(limit + 1);
  if (req.after !== undefined) q = q.where("item_id", ">", req.after);
  if (!req.includeRemoved) q = q.where("removed_at", "is", null);
  const rows = await q.execute();
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => ({
      id: r.item_id,
      title: r.title,
      price: r.price === null ? null : Number(r.price),
      salePrice: r.sale_price === null ? null : Number(r.sale_price),
      currency: r.currency,
      availability: r.availability,
      brand: r.brand,
      link: r.link,
      removedAt: r.removed_at as Date | null,
      updatedAt: r.updated_at as Date,
    })),
    nextAfter: rows.length > limit ? page[page.length - 1]!.item_id : null,
  };
}
