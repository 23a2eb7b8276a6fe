/** Bearer-token authentication for /api/v1: every request gets an Actor scoped to its token's account. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { authenticateToken } from "../domain/accounts.js";
import type { Actor } from "../domain/actor.js";
import { DomainError } from "../domain/errors.js";

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** Requires a valid `Authorization: Bearer <token>` on every route under `prefix`. */
export function installAuth(app: FastifyInstance, db: Kysely<Database>, prefix: string): void {
  app.decorateRequest("actor", null);
  app.addHook("onRequest", async (request, reply) => {
    if (!request.url.startsWith(prefix)) return;
    const header = request.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const actor = match ? await authenticateToken(db, match[1]!, request.ip) : null;
    if (!actor) {
      reply.header("www-authenticate", 'Bearer realm="ferry"');
      throw new DomainError(
        "UNAUTHORIZED",
        match ? "The API token is unknown or revoked" : "Send an API token: Authorization: Bearer <token>",
      );
    }
    request.actor = actor;
  });
}

/** The request's actor; only call on authenticated routes. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new DomainError("UNAUTHORIZED", "Not authenticated");
  return request.actor;
}
