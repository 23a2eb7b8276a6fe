/** /api/v1/pgp-keys: the account's own OpenPGP key pairs (generated; public key downloadable) and partners' keys. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  generatePgpKey,
  getPgpKey,
  importPartnerKey,
  listPgpKeys,
  publicKeyOf,
  updatePgpKey,
} from "../../domain/pgp-keys.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import { ErrorBody, IdParams, PartnerKeyBody, PgpKey, PgpKeyBody, PgpKeyPatch } from "../schemas.js";

export function pgpKeyRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["pgp-keys"];
    app.get(
      "/pgp-keys",
      {
        schema: {
          tags,
          summary: "The account's PGP keys: its own key pairs and its partners' public keys",
          response: { 200: z.object({ items: z.array(PgpKey) }) },
        },
      },
      async (request) => ({ items: await listPgpKeys(deps.db, actorOf(request)) }),
    );
    app.post(
      "/pgp-keys",
      {
        schema: {
          tags,
          summary:
            "Generate a key pair for the account (account admins): partners encrypt files to its public key; its private key never leaves Ferry",
          body: PgpKeyBody,
          response: { 201: PgpKey, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await generatePgpKey(deps.db, deps.box, actorOf(request), request.body)),
    );
    app.post(
      "/pgp-keys/partner",
      {
        schema: {
          tags,
          summary: "Import a partner's public key (account admins)",
          body: PartnerKeyBody,
          response: { 201: PgpKey, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.code(201).send(await importPartnerKey(deps.db, actorOf(request), request.body)),
    );
    app.get(
      "/pgp-keys/:id",
      {
        schema: { tags, summary: "One key", params: IdParams, response: { 200: PgpKey, 404: ErrorBody } },
      },
      async (request) => getPgpKey(deps.db, actorOf(request), request.params.id),
    );
    app.get(
      "/pgp-keys/:id/public",
      {
        schema: {
          tags,
          summary: "The key's public key, armored (.asc): give it to the partner",
          params: IdParams,
          response: { 200: z.string(), 404: ErrorBody },
        },
      },
      async (request, reply) => {
        const key = await publicKeyOf(deps.db, actorOf(request), request.params.id);
        const file = `${key.name.replace(/[^A-Za-z0-9._-]+/g, "_")}_${key.fingerprint.slice(-16)}.asc`;
        return reply
          .type("application/pgp-keys")
          .header("content-disposition", `attachment; filename="${file}"`)
          .send(key.armored);
      },
    );
    app.patch(
      "/pgp-keys/:id",
      {
        schema: {
          tags,
          summary:
            "Rename, retire or reactivate a key (account admins); a partner key a connection uses cannot be retired",
          params: IdParams,
          body: PgpKeyPatch,
          response: { 200: PgpKey, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => updatePgpKey(deps.db, actorOf(request), request.params.id, request.body),
    );
  };
}
