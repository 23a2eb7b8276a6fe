/** Platform data: campaigns, action trackers, partners and promo codes; clicks, actions and catalogs (read). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { getAction, getClick, listActions, listCatalogItems, listCatalogs } from "../../domain/activity.js";
import { createBonusRule, listBonusRules } from "../../domain/bonuses.js";
import { addPromoCode, createPartner, getPartner, listPartners } from "../../domain/partners.js";
import {
  createCampaign,
  createTracker,
  getCampaign,
  getTracker,
  listCampaigns,
  listTrackers,
  setPartnerPayout,
  updateTracker,
} from "../../domain/programs.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import {
  Action,
  ActionDetail,
  Campaign,
  Catalog,
  CatalogItem,
  Click,
  Currency,
  Name,
  NumId,
  NumParams,
  Partner,
  PayoutRule,
  PromoCode,
  Tracker,
} from "../platform-schemas.js";
import { ErrorBody, PageQuery, pageOf } from "../schemas.js";

export function platformRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const { db } = deps;
    const programs = ["campaigns"];
    app.post(
      "/campaigns",
      {
        schema: {
          tags: programs,
          summary: "Create a campaign (program)",
          body: z.strictObject({ name: Name, currency: Currency.optional() }),
          response: { 201: Campaign, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await createCampaign(db, actorOf(request), request.body)),
    );
    app.get(
      "/campaigns",
      {
        schema: {
          tags: programs,
          summary: "The account's campaigns",
          querystring: z.object(PageQuery),
          response: { 200: pageOf(Campaign) },
        },
      },
      async (request) => listCampaigns(db, actorOf(request), request.query),
    );
    app.get(
      "/campaigns/:id",
      {
        schema: {
          tags: programs,
          summary: "One campaign",
          params: NumParams,
          response: { 200: Campaign, 404: ErrorBody },
        },
      },
      async (request) => getCampaign(db, actorOf(request), request.params.id),
    );
    app.post(
      "/campaigns/:id/trackers",
      {
        schema: {
          tags: programs,
          summary: "Create an action tracker (event type) with its payout rule",
          params: NumParams,
          body: z.strictObject({
            name: Name,
            payout: PayoutRule,
            lockDays: z.number().int().min(0).max(365).optional(),
          }),
          response: { 201: Tracker, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await createTracker(db, actorOf(request), request.params.id, request.body)),
    );
    app.get(
      "/campaigns/:id/trackers",
      {
        schema: {
          tags: programs,
          summary: "A campaign's action trackers",
          params: NumParams,
          response: { 200: z.object({ items: z.array(Tracker) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listTrackers(db, actorOf(request), request.params.id) }),
    );
    app.get(
      "/trackers/:id",
      {
        schema: {
          tags: programs,
          summary: "One action tracker",
          params: NumParams,
          response: { 200: Tracker, 404: ErrorBody },
        },
      },
      async (request) => getTracker(db, actorOf(request), request.params.id),
    );
    app.patch(
      "/trackers/:id",
      {
        schema: {
          tags: programs,
          summary: "Change an action tracker's name, payout rule or lock period",
          params: NumParams,
          body: z.strictObject({
            name: Name.optional(),
            payout: PayoutRule.optional(),
            lockDays: z.number().int().min(0).max(365).optional(),
          }),
          response: { 200: Tracker, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => updateTracker(db, actorOf(request), request.params.id, request.body),
    );
    app.put(
      "/trackers/:id/partners/:partnerId",
      {
        schema: {
          tags: programs,
          summary: "Set a partner's own payout rule on a tracker",
          params: z.object({ id: NumId, partnerId: NumId }),
          body: PayoutRule,
          response: { 200: Tracker, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) =>
        setPartnerPayout(db, actorOf(request), request.params.id, request.params.partnerId, request.body),
    );
    app.delete(
      "/trackers/:id/partners/:partnerId",
      {
        schema: {
          tags: programs,
          summary: "Remove a partner's own payout rule (the tracker's rule applies)",
          params: z.object({ id: NumId, partnerId: NumId }),
          response: { 200: Tracker, 404: ErrorBody },
        },
      },
      async (request) =>
        setPartnerPayout(db, actorOf(request), request.params.id, request.params.partnerId, null),
    );

    const BonusRule = z.object({
      id: z.number(),
      campaignId: z.number(),
      name: z.string(),
      basis: z.enum(["actions", "revenue"]),
      kind: z.enum(["raise_all", "raise_past_tier", "fixed"]),
      tiers: z.array(z.object({ from: z.number(), value: z.number() })),
      createdAt: z.date(),
    });
    app.post(
      "/campaigns/:id/bonus-rules",
      {
        schema: {
          tags: programs,
          summary: "Add a performance bonus rule: tiers on a partner's monthly actions or revenue",
          params: NumParams,
          body: z.strictObject({
            name: Name,
            basis: z.enum(["actions", "revenue"]),
            kind: z
              .enum(["raise_all", "raise_past_tier", "fixed"])
              .describe(
                "raise_all: value % of all revenue; raise_past_tier: of what is past each tier; fixed: value",
              ),
            tiers: z
              .array(z.strictObject({ from: z.number().min(0), value: z.number().min(0).max(1_000_000) }))
              .min(1)
              .max(20),
          }),
          response: { 201: BonusRule, 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await createBonusRule(db, actorOf(request), request.params.id, request.body)),
    );
    app.get(
      "/campaigns/:id/bonus-rules",
      {
        schema: {
          tags: programs,
          summary: "A campaign's performance bonus rules",
          params: NumParams,
          response: { 200: z.object({ items: z.array(BonusRule) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listBonusRules(db, actorOf(request), request.params.id) }),
    );

    const partners = ["partners"];
    app.post(
      "/partners",
      {
        schema: {
          tags: partners,
          summary: "Create a partner, optionally with promo codes",
          body: z.strictObject({ name: Name, promoCodes: z.array(PromoCode).max(100).optional() }),
          response: { 201: Partner, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => reply.code(201).send(await createPartner(db, actorOf(request), request.body)),
    );
    app.get(
      "/partners",
      {
        schema: {
          tags: partners,
          summary: "The account's partners",
          querystring: z.object(PageQuery),
          response: { 200: pageOf(Partner) },
        },
      },
      async (request) => listPartners(db, actorOf(request), request.query),
    );
    app.get(
      "/partners/:id",
      {
        schema: {
          tags: partners,
          summary: "One partner",
          params: NumParams,
          response: { 200: Partner, 404: ErrorBody },
        },
      },
      async (request) => getPartner(db, actorOf(request), request.params.id),
    );
    app.post(
      "/partners/:id/promo-codes",
      {
        schema: {
          tags: partners,
          summary: "Give a partner a promo code (matched without case)",
          params: NumParams,
          body: z.strictObject({ code: PromoCode }),
          response: { 201: Partner, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await addPromoCode(db, actorOf(request), request.params.id, request.body.code)),
    );

    const data = ["platform data"];
    app.get(
      "/clicks/:clickId",
      {
        schema: {
          tags: data,
          summary: "One click, by its ClickId",
          params: z.object({ clickId: z.string().min(1).max(128) }),
          response: { 200: Click, 404: ErrorBody },
        },
      },
      async (request) => getClick(db, actorOf(request), request.params.clickId),
    );
    app.get(
      "/actions",
      {
        schema: {
          tags: data,
          summary: "Actions (conversions), oldest first, with filters",
          querystring: z.object({
            ...PageQuery,
            campaignId: NumId.optional(),
            partnerId: NumId.optional(),
            state: z.enum(["PENDING", "APPROVED", "REVERSED"]).optional(),
            orderId: z.string().max(64).optional(),
            transferId: z.uuid().optional().describe("Only actions created by this file"),
          }),
          response: { 200: pageOf(Action), 400: ErrorBody },
        },
      },
      async (request) => listActions(db, actorOf(request), request.query),
    );
    app.get(
      "/actions/:id",
      {
        schema: {
          tags: data,
          summary: "One action with its items and modification history",
          params: NumParams,
          response: { 200: ActionDetail, 404: ErrorBody },
        },
      },
      async (request) => getAction(db, actorOf(request), request.params.id),
    );
    app.get(
      "/catalogs",
      {
        schema: {
          tags: data,
          summary: "Product catalogs (one per catalog connection)",
          response: { 200: z.object({ items: z.array(Catalog) }) },
        },
      },
      async (request) => ({ items: await listCatalogs(db, actorOf(request)) }),
    );
    app.get(
      "/catalogs/:id/items",
      {
        schema: {
          tags: data,
          summary: "A catalog's items by id; removed items only with includeRemoved",
          params: NumParams,
          querystring: z.object({
            limit: z.coerce.number().int().min(1).max(200).optional(),
            after: z.string().optional().describe("nextAfter of the previous page"),
            includeRemoved: z.enum(["true", "false"]).optional(),
          }),
          response: {
            200: z.object({ items: z.array(CatalogItem), nextAfter: z.string().nullable() }),
            404: ErrorBody,
          },
        },
      },
      async (request) =>
        listCatalogItems(db, actorOf(request), request.params.id, {
          ...request.query,
          includeRemoved: request.query.includeRemoved === "true",
        }),
    );
  };
}
