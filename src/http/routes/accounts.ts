/** /api/v1/accounts: the administrator creates accounts and API tokens for them; everyone sees their own. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  type Account as AccountRecord,
  createAccount,
  createToken,
  getAccount,
  listAccounts,
  listTokens,
  revokeToken,
  setAccountSettings,
  setRetention,
  setStorageQuota,
} from "../../domain/accounts.js";
import { DEFAULT_RETENTION } from "../../domain/connections.js";
import { actorOf } from "../auth.js";
import type { ApiDeps } from "../deps.js";
import {
  Account,
  AccountBody,
  AccountPatch,
  ApiToken,
  CreatedToken,
  ErrorBody,
  IdParams,
  TokenBody,
  TokenParams,
} from "../schemas.js";

export function accountRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  // Each account as shown: with the server's retention defaults its null settings stand for.
  const retentionDefaults = (() => {
    const d = deps.retention ?? DEFAULT_RETENTION;
    return { inboundDays: d.inbound, resultDays: d.results, outboundDays: d.outbound };
  })();
  const shown = (a: AccountRecord) => ({ ...a, retentionDefaults });
  return async (app) => {
    const tags = ["accounts"];
    app.post(
      "/accounts",
      {
        schema: {
          tags,
          summary: "Create an account (administrator only)",
          body: AccountBody,
          response: { 201: Account, 400: ErrorBody, 403: ErrorBody },
        },
      },
      async (request, reply) =>
        reply.status(201).send(shown(await createAccount(deps.db, actorOf(request), request.body))),
    );
    app.get(
      "/accounts",
      {
        schema: {
          tags,
          summary: "Accounts you can see",
          response: { 200: z.object({ items: z.array(Account) }) },
        },
      },
      async (request) => ({ items: (await listAccounts(deps.db, actorOf(request))).map(shown) }),
    );
    app.get(
      "/accounts/:id",
      {
        schema: {
          tags,
          summary: "One account",
          params: IdParams,
          response: { 200: Account, 404: ErrorBody },
        },
      },
      async (request) => shown(await getAccount(deps.db, actorOf(request), request.params.id)),
    );
    app.patch(
      "/accounts/:id",
      {
        schema: {
          tags,
          summary:
            "Change an account: its name, time zone and default currency; its storage quota (administrator only: uploads that would go over it are refused — HTTP 507, SFTP failure, FTP 552, SMTP 552 — and a full account's pulls wait) and how long it keeps each kind of file",
          params: IdParams,
          body: AccountPatch,
          response: { 200: Account, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => {
        const actor = actorOf(request);
        const { storageQuotaBytes, retention, name, timeZone, currency } = request.body;
        let account =
          storageQuotaBytes !== undefined
            ? await setStorageQuota(deps.db, actor, request.params.id, storageQuotaBytes)
            : undefined;
        if (name !== undefined || timeZone !== undefined || currency !== undefined)
          account = await setAccountSettings(deps.db, actor, request.params.id, { name, timeZone, currency });
        if (retention) account = await setRetention(deps.db, actor, request.params.id, retention);
        return shown(account ?? (await getAccount(deps.db, actor, request.params.id)));
      },
    );
    app.post(
      "/accounts/:id/tokens",
      {
        schema: {
          tags,
          summary: "Create an API token for an account; the token is shown once",
          params: IdParams,
          body: TokenBody.nullish(),
          response: { 201: CreatedToken, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send(await createToken(deps.db, actorOf(request), request.params.id, request.body ?? {})),
    );
    app.get(
      "/accounts/:id/tokens",
      {
        schema: {
          tags,
          summary:
            "The API tokens of an account: name, prefix, last use, expiry, revocation (never the token)",
          params: IdParams,
          response: { 200: z.object({ items: z.array(ApiToken) }), 404: ErrorBody },
        },
      },
      async (request) => ({ items: await listTokens(deps.db, actorOf(request), request.params.id) }),
    );
    app.post(
      "/accounts/:id/tokens/:tokenId/revoke",
      {
        schema: {
          tags,
          summary: "Revoke an API token: it stops working at once (tokens are kept, never deleted)",
          params: TokenParams,
          response: { 200: ApiToken, 403: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => revokeToken(deps.db, actorOf(request), request.params.id, request.params.tokenId),
    );
  };
}
