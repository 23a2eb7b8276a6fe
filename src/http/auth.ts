/**
 * Authentication for /api/v1, by API token or web session cookie: every request gets an Actor scoped to the
 * token's or the signed-in user's account.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { authenticateToken } from "../domain/accounts.js";
import type { Actor } from "../domain/actor.js";
import { DomainError } from "../domain/errors.js";
import { authenticateSession } from "../domain/users.js";

declare module "fastify" {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** The cookie that carries a web session's token (http-only, SameSite=Strict). */
export const SESSION_COOKIE = "ferry_session";
/**
 * Requests authenticated by the session cookie that change something must carry this header. A page of
 * another site cannot set it without a CORS preflight, which Ferry never grants: no cross-site request forgery.
 */
export const CSRF_HEADER = "x-ferry-csrf";
/** Routes under the prefix that need no authentication (signing in). */
const PUBLIC = new Set(["POST /session"]);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Requires, on every route under `prefix`, a valid `Authorization: Bearer <token>` or a web session cookie.
 */
export function installAuth(app: FastifyInstance, db: Kysely<Database>, prefix: string): void {
  app.decorateRequest("actor", null);
  app.addHook("onRequest", async (request, reply) => {
    if (!request.url.startsWith(prefix)) return;
    const path = request.url.slice(prefix.length).split("?")[0];
    if (PUBLIC.has(`${request.method} ${path}`)) return;
    const header = request.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match) {
      const actor = await authenticateToken(db, match[1]!, request.ip);
      if (!actor) {
        reply.header("www-authenticate", 'Bearer realm="ferry"');
        throw new DomainError("UNAUTHORIZED", "The API token is unknown or revoked");
      }
      request.actor = actor;
      return;
    }
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie) {
      const actor = await authenticateSession(db, cookie, request.ip);
      if (!actor) throw new DomainError("UNAUTHORIZED", "Your session has ended: sign in again");
      if (!SAFE_METHODS.has(request.method) && !request.headers[CSRF_HEADER])
        throw new DomainError("FORBIDDEN", `Requests from the web UI must carry the ${CSRF_HEADER} header`);
      request.actor = actor;
      return;
    }
    reply.header("www-authenticate", 'Bearer realm="ferry"');
    throw new DomainError(
      "UNAUTHORIZED",
      "Send an API token (Authorization: Bearer <token>) or sign in to the web UI",
    );
  });
}

/** The request's actor; only call on authenticated routes. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new DomainError("UNAUTHORIZED", "Not authenticated");
  return request.actor;
}
