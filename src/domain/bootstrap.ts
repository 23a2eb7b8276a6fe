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
        account_role: "admin",
      })
      .execute();
    await insertAdminToken(trx, { id: tokenId, accountId, userId }, token);
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

/**
 * Recovery of the administrator, offline (`ferry admin reset-password`): a new generated password, its
 * sessions ended; with `newToken`, a new API token too and its other tokens revoked. For a first start
 * whose printed secrets were lost (e.g. the HTTP port was taken right after the administrator was made).
 */
export async function resetAdministrator(
  db: Kysely<Database>,
  options: { newToken: boolean },
): Promise<{ login: string; password: string; token: string | undefined }> {
  return db.transaction().execute(async (trx) => {
    const admin = await trx
      .selectFrom("users")
      .select(["id", "account_id"])
      .where("login", "=", ADMIN_LOGIN)
      .where("role", "=", "admin")
      .executeTakeFirst();
    if (!admin) throw new Error("There is no administrator yet: start Ferry once (ferry serve) to create it");
    const password = generatePassword();
    await trx
      .updateTable("users")
      .set({
        password_hash: await hashPassword(password),
        password_changed_at: new Date(),
        disabled_at: null,
      })
      .where("id", "=", admin.id)
      .execute();
    await trx
      .updateTable("sessions")
      .set({ ended_at: new Date() })
      .where("user_id", "=", admin.id)
      .where("ended_at", "is", null)
      .execute();
    let token: string | undefined;
    if (options.newToken) {
      await trx
        .updateTable("api_tokens")
        .set({ revoked_at: new Date(), revoked_by: "admin-reset" })
        .where("user_id", "=", admin.id)
        .where("revoked_at", "is", null)
        .execute();
      token = generateToken();
      await insertAdminToken(trx, { id: newId(), accountId: admin.account_id, userId: admin.id }, token);
    }
    await audit(
      trx,
      systemActor(admin.account_id),
      "user.password_reset",
      { type: "user", id: admin.id },
      {
        offline: true,
        newToken: options.newToken,
      },
    );
    return { login: ADMIN_LOGIN, password, token };
  });
}

/** The administrator's API token row (only its hash and first characters are stored). */
async function insertAdminToken(
  trx: Kysely<Database>,
  ids: { id: string; accountId: string; userId: string },
  token: string,
): Promise<void> {
  await trx
    .insertInto("api_tokens")
    .values({
      id: ids.id,
      account_id: ids.accountId,
      user_id: ids.userId,
      name: "Administrator",
      role: "admin",
      account_role: "admin",
      token_hash: hashToken(token),
      prefix: tokenPrefix(token),
    })
    .execute();
}
