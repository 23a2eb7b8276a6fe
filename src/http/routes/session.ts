/**
 * Web sign-in: POST /session checks a user's login and password and sets the session cookie; GET /session
 * says who is signed in; DELETE /session signs out; POST /session/sign-out-everywhere ends all of the user's
 * sessions; POST /session/password changes the user's own password. Users of an account:
 * /accounts/{id}/users, disabled and enabled there, and their role in the account set.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { findAccount } from "../../domain/accounts.js";
import { type Actor, isAccountAdmin } from "../../domain/actor.js";
import { DomainError } from "../../domain/errors.js";
import type { LoginGuard } from "../../domain/login-guard.js";
import {
  changePassword,
  createUser,
  listUsers,
  SESSION_MAX_MS,
  setUserDisabled,
  setUserRole,
  signIn,
  signOut,
  signOutEverywhere,
} from "../../domain/users.js";
import { actorOf, SESSION_COOKIE } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import {
  CreatedUser,
  ErrorBody,
  IdParams,
  PasswordChangeBody,
  SessionInfo,
  SignInBody,
  User,
  UserBody,
  UserParams,
  UserRoleBody,
} from "../schemas.js";

export function sessionRoutes(deps: ApiDeps, guard: LoginGuard): FastifyPluginAsyncZod {
  return async (app) => {
    const tags = ["session"];
    /** Who is signed in: the actor's account and, for a session, its user. */
    const info = async (actor: Actor & { login?: string }) => {
      const account = await findAccount(deps.db, actor, actor.accountId);
      const login = actor.login;
      return {
        account: {
          id: account.id,
          name: account.name,
          timeZone: account.time_zone,
          currency: account.currency,
        },
        user: actor.type === "user" && actor.id && login ? { id: actor.id, login, role: actor.role } : null,
        accountRole: isAccountAdmin(actor) ? ("admin" as const) : ("member" as const),
        platformAdmin: actor.role === "admin",
        server: { emailSending: deps.emailSending === true },
        via: actor.type === "user" ? ("session" as const) : ("token" as const),
      };
    };

    app.post(
      "/session",
      {
        schema: {
          tags,
          summary: "Sign in to the web UI: sets the http-only session cookie",
          operationId: "signIn",
          security: [],
          body: SignInBody,
          response: { 200: SessionInfo, 401: ErrorBody, 429: ErrorBody },
        },
      },
      async (request, reply) => {
        const login = request.body.login.trim().toLowerCase();
        if (await guard.isBanned(request.ip, `web:${login}`))
          throw new DomainError("TOO_MANY_REQUESTS", "Too many failed sign-ins: try again later");
        const signed = await signIn(deps.db, login, request.body.password, request.ip);
        if (!signed) {
          await guard.failed(request.ip, `web:${login}`, "web");
          throw new DomainError("UNAUTHORIZED", "Wrong login or password");
        }
        await guard.succeeded(request.ip, `web:${login}`);
        reply.setCookie(SESSION_COOKIE, signed.token, {
          httpOnly: true,
          sameSite: "strict",
          // Behind a TLS-terminating proxy the request itself is plain HTTP: FERRY_PUBLIC_URL says https.
          secure: request.protocol === "https" || deps.secureCookies === true,
          path: "/",
          maxAge: SESSION_MAX_MS / 1000,
        });
        const u = signed.user;
        return info({
          accountId: u.accountId,
          type: "user",
          id: u.id,
          role: u.role,
          accountRole: u.accountRole,
          login: u.login,
        });
      },
    );
    app.get(
      "/session",
      { schema: { tags, summary: "Who is signed in", response: { 200: SessionInfo, 401: ErrorBody } } },
      async (request) => info(actorOf(request)),
    );
    app.delete(
      "/session",
      { schema: { tags, summary: "Sign out", operationId: "signOut", response: { 204: z.null() } } },
      async (request, reply) => {
        const token = request.cookies[SESSION_COOKIE];
        if (token) await signOut(deps.db, token);
        reply.clearCookie(SESSION_COOKIE, { path: "/" });
        return reply.status(204).send(null);
      },
    );

    const Ended = z.object({ sessionsEnded: z.number() });
    app.post(
      "/session/sign-out-everywhere",
      {
        schema: {
          tags,
          summary: "End every session of the signed-in user, this one included",
          operationId: "signOutEverywhere",
          response: { 200: Ended, 403: ErrorBody },
        },
      },
      async (request, reply) => {
        const result = await signOutEverywhere(deps.db, actorOf(request));
        reply.clearCookie(SESSION_COOKIE, { path: "/" });
        return result;
      },
    );
    app.post(
      "/session/password",
      {
        schema: {
          tags,
          summary: "Change the signed-in user's password; their other sessions end",
          operationId: "changePassword",
          body: PasswordChangeBody,
          response: { 200: Ended, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
        },
      },
      async (request) =>
        changePassword(deps.db, actorOf(request), request.body, request.cookies[SESSION_COOKIE]),
    );
    for (const [action, disabled] of [
      ["disable", true],
      ["enable", false],
    ] as const) {
      app.post(
        `/accounts/:id/users/:userId/${action}`,
        {
          schema: {
            tags: ["accounts"],
            summary: disabled
              ? "Disable a user: they cannot sign in, their sessions end and their API tokens are revoked"
              : "Enable a disabled user again (their ended sessions and revoked tokens stay so)",
            params: UserParams,
            response: { 200: User, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
          },
        },
        async (request) =>
          setUserDisabled(deps.db, actorOf(request), request.params.id, request.params.userId, disabled),
      );
    }
    app.put(
      "/accounts/:id/users/:userId/role",
      {
        schema: {
          tags: ["accounts"],
          summary: "Make a user an admin of the account or a member (the account keeps one enabled admin)",
          operationId: "setUserRole",
          params: UserParams,
          body: UserRoleBody,
          response: { 200: User, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) =>
        setUserRole(
          deps.db,
          actorOf(request),
          request.params.id,
          request.params.userId,
          request.body.accountRole,
        ),
    );
    app.post(
      "/accounts/:id/users",
      {
        schema: {
          tags: ["accounts"],
          summary: "Create a user of an account, who signs in to the web UI; the password is shown once",
          params: IdParams,
          body: UserBody,
          response: { 201: CreatedUser, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await createUser(deps.db, actorOf(request), request.params.id, request.body)),
    );
    app.get(
      "/accounts/:id/users",
      {
        schema: {
          tags: ["accounts"],
          summary: "The users of an account",
          params: IdParams,
          response: { 200: z.object({ items: z.array(User) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listUsers(deps.db, actorOf(request), request.params.id) }),
    );
  };
}
