/** /api/v1/notifications: a user's email subscriptions to events (at once, or a daily digest). */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { createSubscription, deleteSubscription, listSubscriptions } from "../../domain/notifications.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import { ErrorBody, IdParams, Subscription, SubscriptionBody } from "../schemas.js";

export function notificationRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["notifications"];
    app.get(
      "/notifications",
      {
        schema: {
          tags,
          summary: "Email subscriptions: your own (admins: the account's)",
          response: { 200: z.object({ items: z.array(Subscription) }) },
        },
      },
      async (request) => ({ items: await listSubscriptions(deps.db, actorOf(request)) }),
    );
    app.post(
      "/notifications",
      {
        schema: {
          tags,
          summary: "Subscribe to events by email, at once or in a daily digest",
          body: SubscriptionBody,
          response: { 201: Subscription, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await createSubscription(deps.db, actorOf(request), request.body)),
    );
    app.delete(
      "/notifications/:id",
      {
        schema: {
          tags,
          summary: "Unsubscribe",
          params: IdParams,
          response: { 204: z.null(), 404: ErrorBody },
        },
      },
      async (request, reply) => {
        await deleteSubscription(deps.db, actorOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
