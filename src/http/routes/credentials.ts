/** /api/v1/credentials: create (password shown once), list, get, rename or replace key, reset password. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { listAuditEvents } from "../../domain/audit.js";
import {
  createCredential,
  getCredential,
  listCredentials,
  resetPassword,
  updateCredential,
} from "../../domain/credentials.js";
import { invalid } from "../../domain/errors.js";
import { parsePublicKey } from "../../domain/keys.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import {
  AuditEvent,
  AuditQuery,
  Credential,
  CredentialBody,
  CredentialKind,
  CredentialPatch,
  CredentialWithSecret,
  ErrorBody,
  IdParams,
  PageQuery,
  pageOf,
} from "../schemas.js";

export function credentialRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["credentials"];
    app.post(
      "/credentials",
      {
        schema: {
          tags,
          summary: "Create a credential; a generated password is in this response only",
          body: CredentialBody,
          response: { 201: CredentialWithSecret, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => {
        reply.header("cache-control", "no-store");
        return reply.status(201).send(await createCredential(deps.db, actorOf(request), request.body));
      },
    );
    app.post(
      "/credentials/check-key",
      {
        schema: {
          tags,
          summary: "Check a public key without storing it: its type, size and fingerprint, or what is wrong",
          body: z.strictObject({ publicKey: z.string().max(16_384) }),
          response: {
            200: z.object({ keyType: z.string(), keyBits: z.number(), fingerprint: z.string() }),
            400: ErrorBody,
          },
        },
      },
      async (request) => {
        const parsed = parsePublicKey(request.body.publicKey);
        if (!parsed.ok) throw invalid([{ path: "publicKey", message: parsed.message }]);
        return { keyType: parsed.key.type, keyBits: parsed.key.bits, fingerprint: parsed.key.fingerprint };
      },
    );
    app.get(
      "/credentials",
      {
        schema: {
          tags,
          summary: "List credentials (never any secret)",
          querystring: z.object({ ...PageQuery, kind: CredentialKind.optional() }),
          response: { 200: pageOf(Credential) },
        },
      },
      async (request) => listCredentials(deps.db, actorOf(request), request.query),
    );
    app.get(
      "/credentials/:id",
      {
        schema: {
          tags,
          summary: "One credential",
          params: IdParams,
          response: { 200: Credential, 404: ErrorBody },
        },
      },
      async (request) => getCredential(deps.db, actorOf(request), request.params.id),
    );
    app.patch(
      "/credentials/:id",
      {
        schema: {
          tags,
          summary: "Rename, or replace the public key",
          params: IdParams,
          body: CredentialPatch,
          response: { 200: Credential, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => updateCredential(deps.db, actorOf(request), request.params.id, request.body),
    );
    app.post(
      "/credentials/:id/reset-password",
      {
        schema: {
          tags,
          summary: "Generate a new password, shown in this response only",
          params: IdParams,
          response: { 200: CredentialWithSecret, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => {
        reply.header("cache-control", "no-store");
        return resetPassword(deps.db, actorOf(request), request.params.id);
      },
    );
    app.get(
      "/credentials/:id/audit",
      {
        schema: {
          tags,
          summary: "The credential's audit trail, a page at a time (oldest first; order=desc: newest first)",
          params: IdParams,
          querystring: AuditQuery,
          response: { 200: pageOf(AuditEvent), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const credential = await getCredential(deps.db, actor, request.params.id);
        return listAuditEvents(deps.db, actor, { type: "credential", id: credential.id }, request.query);
      },
    );
  };
}
