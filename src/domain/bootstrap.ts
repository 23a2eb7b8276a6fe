/** First start: an empty database gets a first account with the platform administrator (user and API token). */
import { type Kysely, sql } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import { systemActor } from "./actor.js";
import { audit } from "./audit.js";
import { generatePassword, generateToken, hashPassword, hashToken, tokenPrefix } from "./secrets.js";

export const ADMIN_LOGIN = "admin";

/** What a first start created; the secrets are in clear only when Ferry generated them, to print once. */
export type BootstrapResult =
  | { created: false }
  | {
      created: true;
      accountId: string;
      login: string;
      /** Generated password, or undefined when FERRY_ADMIN_PASSWORD gave it. */
      password: string | undefined;
      /** Generated API token, or undefined when FERRY_ADMIN_TOKEN gave it. */
      token: string | undefined;
    };

/**
 * Creates the administrator when no account exists yet. Safe when several processes start at once: a
 * transaction-scoped advisory lock lets one of them create, and the others see it done.
 */
export async function ensureAdministrator(
  db: Kysely<Database>,
  given: { password?: string | undefined; token?: string | undefined },
): Promise<BootstrapResult> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('ferry.bootstrap.' || current_schema()))`.execute(trx);
    const existing = await trx.selectFrom("accounts").select("id").limit(1).executeTakeFirst();
    if (existing) return { created: false } as const;

    const accountId = newId();
    const userId = newId();
    const tokenId = newId();
    const password = given.password ?? generatePassword();
    const token = given.token ?? generateToken();
    await trx.insertInto("accounts").values({ id: accountId, name: "Platform", type: "brand" }).execute();
    await trx
      .insertInto("users")
      .values({
        id: userId,
        account_id: accountId,
        login: ADMIN_LOGIN,
        password_hash: await hashPassword(password),
        role: "admin",
      })
      .execute();
    await trx
      .insertInto("api_tokens")
      .values({
        id: tokenId,
        account_id: accountId,
        user_id: userId,
        name: "Administrator",
        role: "admin",
        token_hash: hashToken(token),
        prefix: tokenPrefix(token),
      })
      .execute();
    await audit(
      trx,
      systemActor(accountId),
      "account.created",
      { type: "account", id: accountId },
      {
        bootstrap: true,
      },
    );
    return {
      created: true,
      accountId,
      login: ADMIN_LOGIN,
      password: given.password ? undefined : password,
      token: given.token ? undefined : token,
    } as const;
  });
}
