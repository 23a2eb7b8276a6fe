/** /api/v1/webhooks: endpoints (secret shown once), their delivery log, redelivery, secret rotation, a test event. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { requireAccountAdmin } from "../../domain/actor.js";
import { notFound } from "../../domain/errors.js";
import {
  createEndpoint,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  redeliver,
  rotateSecret,
  updateEndpoint,
  WEBHOOK_EVENTS,
} from "../../domain/webhooks.js";
import { emitEvent, sqlClientOf } from "../../pipeline/events.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import {
  EndpointBody,
  EndpointPatch,
  ErrorBody,
  IdParams,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from "../schemas.js";

export function webhookRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["webhooks"];
    app.get(
      "/webhooks",
      {
        schema: {
          tags,
          summary: "The account's webhook endpoints",
          response: { 200: z.object({ items: z.array(WebhookEndpoint), events: z.array(z.string()) }) },
        },
      },
      async (request) => ({
        items: await listEndpoints(deps.db, actorOf(request)),
        events: [...WEBHOOK_EVENTS],
      }),
    );
    app.post(
      "/webhooks",
      {
        schema: {
          tags,
          summary: "Add an endpoint (account admins); its signing secret is in this answer only",
          body: EndpointBody,
          response: { 201: WebhookEndpointWithSecret, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => {
        reply.header("cache-control", "no-store");
        return reply.code(201).send(await createEndpoint(deps.db, deps.box, actorOf(request), request.body));
      },
    );
    app.get(
      "/webhooks/:id",
      {
        schema: {
          tags,
          summary: "One endpoint",
          params: IdParams,
          response: { 200: WebhookEndpoint, 404: ErrorBody },
        },
      },
      async (request) => getEndpoint(deps.db, actorOf(request), request.params.id),
    );
    app.patch(
      "/webhooks/:id",
      {
        schema: {
          tags,
          summary: "Change an endpoint's URL, description, events, or disable it (account admins)",
          params: IdParams,
          body: EndpointPatch,
          response: { 200: WebhookEndpoint, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => updateEndpoint(deps.db, actorOf(request), request.params.id, request.body),
    );
    app.post(
      "/webhooks/:id/rotate-secret",
      {
        schema: {
          tags,
          summary: "A new signing secret (in this answer only); the old one signs beside it for 24 hours",
          params: IdParams,
          response: { 200: WebhookEndpointWithSecret, 403: ErrorBody, 404: ErrorBody },
        },
      },
      async (request, reply) => {
        reply.header("cache-control", "no-store");
        return rotateSecret(deps.db, deps.box, actorOf(request), request.params.id);
      },
    );
    app.post(
      "/webhooks/:id/test",
      {
        schema: {
          tags,
          summary: "Send a webhook.test event to this endpoint (whatever its event filter)",
          params: IdParams,
          response: {
            202: z.object({ eventType: z.literal("webhook.test") }),
            403: ErrorBody,
            404: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        requireAccountAdmin(actor, "send test events");
        const endpoint = await getEndpoint(deps.db, actor, request.params.id);
        const sent = await deps.db
          .transaction()
          .execute((trx) =>
            emitEvent(
              sqlClientOf(trx),
              deps.queue,
              actor.accountId,
              "webhook.test",
              { endpointId: endpoint.id, message: "A test event from Ferry" },
              endpoint.id,
            ),
          );
        if (sent === 0) throw notFound("Active webhook endpoint");
        deps.queue.wake();
        return reply.code(202).send({ eventType: "webhook.test" as const });
      },
    );
    app.get(
      "/webhooks/:id/deliveries",
      {
        schema: {
          tags,
          summary: "An endpoint's delivery log, newest first (the last 50)",
          params: IdParams,
          response: { 200: z.object({ items: z.array(WebhookDelivery) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listDeliveries(deps.db, actorOf(request), request.params.id) }),
    );
    app.post(
      "/webhook-deliveries/:id/redeliver",
      {
        schema: {
          tags,
          summary: "Send a delivery again (account admins)",
          params: IdParams,
          response: { 200: WebhookDelivery, 403: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => redeliver(deps.db, deps.queue, actorOf(request), request.params.id),
    );
  };
}
