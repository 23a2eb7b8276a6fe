/** Request and response shapes of the platform data routes (campaigns, trackers, partners, what files made). */
import { z } from "zod";
import { named } from "./schemas.js";

export const NumId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const NumParams = z.object({ id: NumId });
export const Name = z.string().trim().min(1).max(200);
export const Currency = z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD");
export const PromoCode = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "1 to 64 letters, digits, _ or -");

export const PayoutRule = z.strictObject({
  type: z.enum(["percent", "fixed"]).describe("percent of the amount, or a fixed sum per action"),
  value: z.number().min(0).max(1_000_000),
});

export const Campaign = z.object({
  id: z.number(),
  name: z.string(),
  currency: z.string(),
  status: z.enum(["active", "paused"]),
  createdAt: z.date(),
});

export const Tracker = z.object({
  id: z.number(),
  campaignId: z.number(),
  name: z.string(),
  payout: PayoutRule,
  lockDays: z.number(),
  currency: z.string(),
  partnerPayouts: z.array(z.object({ partnerId: z.number(), payout: PayoutRule })),
  createdAt: z.date(),
});

export const Partner = z.object({
  id: z.number(),
  name: z.string(),
  status: z.enum(["active", "inactive"]),
  promoCodes: z.array(z.string()),
  createdAt: z.date(),
});

export const Click = z.object({
  clickId: z.string(),
  campaignId: z.number(),
  partnerId: z.number(),
  adId: z.number().nullable(),
  eventDate: z.date(),
  ipAddress: z.string().nullable(),
  userAgent: z.string().nullable(),
  referringUrl: z.string().nullable(),
  landingPageUrl: z.string().nullable(),
  subIds: z.array(z.string().nullable()),
  transferId: z.string().nullable(),
  updatedAt: z.date(),
});

export const Action = z.object({
  id: z.number(),
  campaignId: z.number(),
  actionTrackerId: z.number(),
  partnerId: z.number(),
  orderId: z.string(),
  eventDate: z.date(),
  clickId: z.string().nullable(),
  promoCode: z.string().nullable(),
  adId: z.number().nullable(),
  customerId: z.string().nullable(),
  customerStatus: z.string().nullable(),
  currency: z.string(),
  amount: z.number(),
  payout: z.number(),
  originalAmount: z.number(),
  originalPayout: z.number(),
  state: z.string().describe("PENDING, APPROVED or REVERSED"),
  lockingDate: z.date(),
  modificationCount: z.number(),
  lastReason: z.string().nullable(),
  transferId: z.string().describe("The file that created it"),
  line: z.number().describe("Its line in that file"),
  createdAt: z.date(),
  updatedAt: z.date(),
});

export const ActionDetail = Action.extend({
  items: z.array(
    z.object({
      sku: z.string(),
      name: z.string().nullable(),
      category: z.string().nullable(),
      quantity: z.number(),
      amount: z.number(),
    }),
  ),
  modifications: z.array(
    z.object({
      reason: z.string(),
      dispositionCode: z.string().nullable(),
      oldAmount: z.number(),
      newAmount: z.number(),
      oldPayout: z.number(),
      newPayout: z.number(),
      oldState: z.string(),
      newState: z.string(),
      transferId: z.string().nullable(),
      line: z.number().nullable(),
      createdAt: z.date(),
    }),
  ),
});

export const Catalog = z.object({
  id: z.number(),
  connectionId: z.string(),
  name: z.string(),
  itemCount: z.number(),
  transferId: z.string().nullable(),
  updatedAt: z.date(),
});

export const CatalogItem = z.object({
  id: z.string(),
  title: z.string().nullable(),
  price: z.number().nullable(),
  salePrice: z.number().nullable(),
  currency: z.string().nullable(),
  availability: z.string().nullable(),
  brand: z.string().nullable(),
  link: z.string().nullable(),
  removedAt: z.date().nullable(),
  updatedAt: z.date(),
});

named({ PayoutRule, Campaign, Tracker, Partner, Click, Action, ActionDetail, Catalog, CatalogItem });
