/** Accounts (tenants: a brand or a partner) and the API tokens that act inside them. */
import { type Kysely, type Selectable, sql, type Updateable } from "kysely";
import { newId } from "../db/ids.js";
import type { AccountRole, AccountsTable, Database } from "../db/schema.js";
import { type Actor, isAccountAdmin, requireAccountAdmin } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, notFound } from "./errors.js";
import { usedBytes } from "./quota.js";
import { generateToken, hashToken, tokenPrefix } from "./secrets.js";

export type AccountType = "brand" | "partner";

export interface Account {
  id: string;
  name: string;
  type: AccountType;
  timeZone: string;
  currency: string;
  createdAt: Date;
  /** The most bytes the account's received files may take; null: no quota. */
  storageQuotaBytes: number | null;
  /** Bytes its received files take now (inbound files still stored, and staged uploads). */
  storageUsedBytes: number;
  /** Days each kind of file is kept; null: the server's default. */
  retention: AccountRetention;
}

export interface AccountRetention {
  inboundDays: number | null;
  resultDays: number | null;
  outboundDays: number | null;
}

export interface NewAccount {
  name: string;
  type: AccountType;
  timeZone?: string | undefined;
  currency?: string | undefined;
}

/** A token as listed: never the token itself. */
export interface ApiToken {
  id: string;
  accountId: string;
  name: string;
  prefix: string;
  /** Its rights in the account: an admin's or a member's. */
  accountRole: AccountRole;
  /** The user who made it (it goes when they are disabled); null when no user did. */
  userId: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  /** When it stops working; null: never (only the administrator makes such tokens). */
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** Days a new token lasts unless asked otherwise. */
export const TOKEN_DEFAULT_DAYS = 90;
/** The longest a token made by an account's member may last. */
export const TOKEN_MAX_DAYS = 365;
/** Tokens an account may have working at once: a stolen token cannot mint an unbounded number. */
export const MAX_ACTIVE_TOKENS = 25;

function toAccount(r: Selectable<AccountsTable>, usedBytes: number): Account {
  return {
    id: r.id,
    name: r.name,
    type: r.type,
    timeZone: r.time_zone,
    currency: r.currency,
    createdAt: r.created_at,
    storageQuotaBytes: r.storage_quota_bytes,
    storageUsedBytes: usedBytes,
    retention: {
      inboundDays: r.inbound_retention_days,
      resultDays: r.result_retention_days,
      outboundDays: r.outbound_retention_days,
    },
  };
}

/** Accounts with the bytes their received files take, in one query. */
const withUsage = (db: Kysely<Database>) =>
  db
    .selectFrom("accounts")
    .selectAll()
    .select(usedBytes(sql.ref<string>("accounts.id")).as("used_bytes"));

/** Whether the actor may see the account: its own, or any for the administrator. */
const maySee = (actor: Actor, id: string) => actor.role === "admin" || id === actor.accountId;

function requireAdmin(actor: Actor, what: string): void {
  if (actor.role !== "admin")
    throw new DomainError("FORBIDDEN", `Only the platform administrator can ${what}`);
}

/** Creates an account. Only the platform administrator may. */
export async function createAccount(db: Kysely<Database>, actor: Actor, input: NewAccount): Promise<Account> {
  requireAdmin(actor, "create accounts");
  const row = await db
    .insertInto("accounts")
    .values({
      id: newId(),
      name: input.name,
      type: input.type,
      ...(input.timeZone ? { time_zone: input.timeZone } : {}),
      ...(input.currency ? { currency: input.currency } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(
    db,
    { ...actor, accountId: row.id },
    "account.created",
    { type: "account", id: row.id },
    {
      name: row.name,
      type: row.type,
      byAccountId: actor.accountId,
    },
  );
  return toAccount(row, 0);
}

/** One account with its storage use: the actor's own, or any for the administrator; otherwise "not found". */
export async function getAccount(db: Kysely<Database>, actor: Actor, id: string): Promise<Account> {
  if (!maySee(actor, id)) throw notFound("Account");
  const row = await withUsage(db).where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound("Account");
  return toAccount(row, Number(row.used_bytes));
}

/**
 * The account's row, as getAccount checks it (the actor's own, or any for the administrator; otherwise "not
 * found"), without adding up its storage: for callers that only need to know it may be acted on.
 */
export async function findAccount(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
): Promise<Selectable<AccountsTable>> {
  if (!maySee(actor, id)) throw notFound("Account");
  const row = await db.selectFrom("accounts").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw notFound("Account");
  return row;
}

/**
 * Changes an account's name, time zone or default currency (a key left out stays as it is). The account's own
 * admins may, and the platform administrator. Schedules follow a new time zone from their next period on
 * (pipeline/schedule.ts: that period runs from the last one's end).
 */
export async function setAccountSettings(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
  input: { name?: string | undefined; timeZone?: string | undefined; currency?: string | undefined },
): Promise<Account> {
  const before = await findAccount(db, actor, id);
  requireAccountAdmin(actor, "change its settings");
  const set: Updateable<AccountsTable> = {};
  if (input.name !== undefined && input.name !== before.name) set.name = input.name;
  if (input.timeZone !== undefined && input.timeZone !== before.time_zone) set.time_zone = input.timeZone;
  if (input.currency !== undefined && input.currency !== before.currency) set.currency = input.currency;
  if (Object.keys(set).length > 0) {
    await db.updateTable("accounts").set(set).where("id", "=", id).execute();
    await audit(
      db,
      { ...actor, accountId: id },
      "account.updated",
      { type: "account", id },
      Object.fromEntries(
        Object.entries({ name: set.name, timeZone: set.time_zone, currency: set.currency }).filter(
          ([, v]) => v !== undefined,
        ),
      ),
    );
  }
  return getAccount(db, actor, id);
}

/** Sets an account's storage quota (null: none). Only the platform administrator may. */
export async function setStorageQuota(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
  quotaBytes: number | null,
): Promise<Account> {
  requireAdmin(actor, "set storage quotas");
  const row = await db
    .updateTable("accounts")
    .set({ storage_quota_bytes: quotaBytes })
    .where("id", "=", id)
    .returning("id")
    .executeTakeFirst();
  if (!row) throw notFound("Account");
  await audit(db, { ...actor, accountId: id }, "account.quota_set", { type: "account", id }, { quotaBytes });
  return getAccount(db, actor, id);
}

/**
 * Sets how long the account keeps each kind of file (null: the server's default; a key left out stays as it
 * is). The account's admins may, and the platform administrator. Files already older than a shorter setting go at
 * the next retention pass.
 */
export async function setRetention(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
  retention: Partial<AccountRetention>,
): Promise<Account> {
  await findAccount(db, actor, id);
  requireAccountAdmin(actor, "change how long its files are kept");
  const set: Updateable<AccountsTable> = {};
  if (retention.inboundDays !== undefined) set.inbound_retention_days = retention.inboundDays;
  if (retention.resultDays !== undefined) set.result_retention_days = retention.resultDays;
  if (retention.outboundDays !== undefined) set.outbound_retention_days = retention.outboundDays;
  if (Object.keys(set).length > 0) {
    await db.updateTable("accounts").set(set).where("id", "=", id).execute();
    await audit(db, { ...actor, accountId: id }, "account.retention_set", { type: "account", id }, retention);
  }
  return getAccount(db, actor, id);
}

/** The accounts the actor can see: all for the administrator, its own otherwise. */
export async function listAccounts(db: Kysely<Database>, actor: Actor): Promise<Account[]> {
  let q = withUsage(db).orderBy("id");
  if (actor.role !== "admin") q = q.where("id", "=", actor.accountId);
  return (await q.execute()).map((r) => toAccount(r, Number(r.used_bytes)));
}

/**
 * Creates an API token in `accountId`, returned in clear this once. The administrator may do so for any
 * account, anyone else only for their own. New tokens are never platform administrators, and never have more
 * rights in the account than their maker: `role` defaults to the maker's, and a member cannot make an admin's.
 */
export async function createToken(
  db: Kysely<Database>,
  actor: Actor,
  accountId: string,
  input: {
    name?: string | undefined;
    expiresInDays?: number | null | undefined;
    accountRole?: AccountRole | undefined;
  },
): Promise<ApiToken & { token: string }> {
  await findAccount(db, actor, accountId);
  const role = input.accountRole ?? (isAccountAdmin(actor) ? "admin" : "member");
  if (role === "admin" && !isAccountAdmin(actor))
    throw new DomainError("FORBIDDEN", "Only an admin of the account can make an admin's token", [
      { path: "accountRole", message: "a member makes member tokens" },
    ]);
  const days = input.expiresInDays === undefined ? TOKEN_DEFAULT_DAYS : input.expiresInDays;
  if (days === null && actor.role !== "admin") {
    throw new DomainError(
      "FORBIDDEN",
      "Only the platform administrator can make a token that never expires",
      [{ path: "expiresInDays", message: `give a number of days, at most ${TOKEN_MAX_DAYS}` }],
    );
  }
  const active = await db
    .selectFrom("api_tokens")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", new Date())]))
    .executeTakeFirstOrThrow();
  if (Number(active.n) >= MAX_ACTIVE_TOKENS) {
    throw new DomainError(
      "CONFLICT",
      `The account has ${MAX_ACTIVE_TOKENS} working API tokens, the most allowed: revoke one first`,
    );
  }
  const token = generateToken();
  const row = await db
    .insertInto("api_tokens")
    .values({
      id: newId(),
      account_id: accountId,
      // A user's token goes when the user is disabled.
      user_id: actor.type === "user" && actor.accountId === accountId ? actor.id : null,
      name: input.name ?? "API token",
      role: "member",
      account_role: role,
      token_hash: hashToken(token),
      prefix: tokenPrefix(token),
      expires_at: days === null ? null : new Date(Date.now() + days * 86_400_000),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(
    db,
    { ...actor, accountId },
    "token.created",
    { type: "api_token", id: row.id },
    {
      name: row.name,
      prefix: row.prefix,
      accountRole: role,
      expiresAt: row.expires_at,
      byAccountId: actor.accountId,
    },
  );
  return { ...toToken(row), token };
}

function toToken(r: Selectable<Database["api_tokens"]>): ApiToken {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    prefix: r.prefix,
    accountRole: r.account_role,
    userId: r.user_id,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

/** The API tokens of an account, newest first (never the tokens themselves). */
export async function listTokens(db: Kysely<Database>, actor: Actor, accountId: string): Promise<ApiToken[]> {
  await findAccount(db, actor, accountId);
  const rows = await db
    .selectFrom("api_tokens")
    .selectAll()
    .where("account_id", "=", accountId)
    .orderBy("created_at", "desc")
    .execute();
  return rows.map(toToken);
}

/**
 * Revokes a token of an account at once; revoking a revoked token changes nothing. The account's admins may
 * revoke any of its tokens, a member only the ones they made (and a token itself).
 */
export async function revokeToken(
  db: Kysely<Database>,
  actor: Actor,
  accountId: string,
  tokenId: string,
): Promise<ApiToken> {
  await findAccount(db, actor, accountId);
  const existing = await db
    .selectFrom("api_tokens")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("id", "=", tokenId)
    .executeTakeFirst();
  if (!existing) throw notFound("API token");
  const own =
    (actor.type === "user" && existing.user_id === actor.id) ||
    (actor.type === "token" && existing.id === actor.id);
  if (!own) requireAccountAdmin(actor, "revoke a token somebody else made");
  const row = await db
    .updateTable("api_tokens")
    .set({ revoked_at: new Date(), revoked_by: `${actor.type}:${actor.id ?? "system"}` })
    .where("account_id", "=", accountId)
    .where("id", "=", tokenId)
    .where("revoked_at", "is", null)
    .returningAll()
    .executeTakeFirst();
  if (row) {
    await audit(
      db,
      { ...actor, accountId },
      "token.revoked",
      { type: "api_token", id: row.id },
      {
        name: row.name,
        prefix: row.prefix,
      },
    );
    return toToken(row);
  }
  return toToken(existing);
}

/** The actor a bearer token stands for, or null if it is unknown or revoked. */
export async function authenticateToken(
  db: Kysely<Database>,
  token: string,
  ip?: string,
): Promise<Actor | null> {
  const row = await db
    .selectFrom("api_tokens")
    .select(["id", "account_id", "role", "account_role", "last_used_at"])
    .where("token_hash", "=", hashToken(token))
    .where("revoked_at", "is", null)
    .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", new Date())]))
    .executeTakeFirst();
  if (!row) return null;
  // Record use at most once a minute, so reads stay reads.
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable("api_tokens").set({ last_used_at: new Date() }).where("id", "=", row.id).execute();
  }
  return {
    accountId: row.account_id,
    type: "token",
    id: row.id,
    role: row.role,
    accountRole: row.account_role,
    ip,
  };
}
