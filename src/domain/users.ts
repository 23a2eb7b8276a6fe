/**
 * Users (people who sign in to the web UI) and their sessions. A user belongs to one account; the session
 * cookie holds a random token of which only the SHA-256 is stored.
 */
import { type Kysely, sql } from "kysely";
import { newId } from "../db/ids.js";
import type { AccountRole, Database } from "../db/schema.js";
import { findAccount } from "./accounts.js";
import { type Actor, requireAccountAdmin } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, notFound } from "./errors.js";
import { generatePassword, generateToken, hashPassword, hashToken, verifyPassword } from "./secrets.js";

export interface User {
  id: string;
  accountId: string;
  login: string;
  role: "admin" | "member";
  /** Their role in the account: its admins manage users, API tokens and settings. */
  accountRole: AccountRole;
  createdAt: Date;
  /** Set while the user may not sign in (their sessions and tokens were ended then). */
  disabledAt: Date | null;
}

/** Shortest password a user may choose. */
export const MIN_PASSWORD_LENGTH = 12;

/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** …and in any case after this long. */
export const SESSION_MAX_MS = 7 * 86_400_000;

/**
 * Creates a user in `accountId` with a generated password, returned in clear this once. The account's admins
 * may, and the platform administrator. New users are never platform administrators; their role in the account
 * is the one asked for, by default admin for an account's first user (someone must manage it) and member after.
 */
export async function createUser(
  db: Kysely<Database>,
  actor: Actor,
  accountId: string,
  input: { login: string; accountRole?: AccountRole | undefined },
): Promise<User & { password: string }> {
  await findAccount(db, actor, accountId);
  requireAccountAdmin(actor, "add users");
  const login = input.login.trim().toLowerCase();
  const taken = await db.selectFrom("users").select("id").where("login", "=", login).executeTakeFirst();
  if (taken)
    throw new DomainError("CONFLICT", `The login "${login}" is taken`, [
      { path: "login", message: "is already in use" },
    ]);
  const role = input.accountRole ?? ((await activeAdmins(db, accountId)) === 0 ? "admin" : "member");
  const password = generatePassword();
  const row = await db
    .insertInto("users")
    .values({
      id: newId(),
      account_id: accountId,
      login,
      password_hash: await hashPassword(password),
      role: "member",
      account_role: role,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, { ...actor, accountId }, "user.created", { type: "user", id: row.id }, { login, role });
  return { ...toUser(row), password };
}

/** The users of an account the actor can see. */
export async function listUsers(db: Kysely<Database>, actor: Actor, accountId: string): Promise<User[]> {
  await findAccount(db, actor, accountId);
  const rows = await db
    .selectFrom("users")
    .selectAll()
    .where("account_id", "=", accountId)
    .orderBy("login")
    .execute();
  return rows.map(toUser);
}

function toUser(r: {
  id: string;
  account_id: string;
  login: string;
  role: "admin" | "member";
  account_role: AccountRole;
  created_at: Date;
  disabled_at: Date | null;
}): User {
  return {
    id: r.id,
    accountId: r.account_id,
    login: r.login,
    role: r.role,
    accountRole: r.account_role,
    createdAt: r.created_at,
    disabledAt: r.disabled_at,
  };
}

/** Ends a user's web sessions (all, or all but one) now; returns how many. */
async function endSessions(db: Kysely<Database>, userId: string, keepSessionOf?: string): Promise<number> {
  let q = db
    .updateTable("sessions")
    .set({ ended_at: new Date() })
    .where("user_id", "=", userId)
    .where("ended_at", "is", null);
  if (keepSessionOf) q = q.where("token_hash", "!=", hashToken(keepSessionOf));
  const result = await q.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** How many enabled users administer the account. */
async function activeAdmins(db: Kysely<Database>, accountId: string): Promise<number> {
  const r = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("account_id", "=", accountId)
    .where("account_role", "=", "admin")
    .where("disabled_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * Runs `change` to a user of the account under a lock on the account's row, so that two admins who take each
 * other's rights at once cannot leave the account with none: `change` sees the users as they are, and a user
 * acting is still an admin (the role their session was authenticated with may have just been taken).
 */
function underAccountLock<T>(
  db: Kysely<Database>,
  actor: Actor,
  accountId: string,
  what: string,
  change: (trx: Kysely<Database>) => Promise<T>,
) {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT 1 FROM accounts WHERE id = ${accountId} FOR UPDATE`.execute(trx);
    if (actor.type === "user" && actor.id && actor.role !== "admin") {
      const now = await trx
        .selectFrom("users")
        .select("account_role")
        .where("id", "=", actor.id)
        .executeTakeFirstOrThrow();
      requireAccountAdmin({ ...actor, accountRole: now.account_role }, what);
    }
    return change(trx);
  });
}

/** Refuses a change that would leave the account without an enabled admin to manage it. */
async function keepAnAdmin(
  trx: Kysely<Database>,
  row: { account_id: string; account_role: AccountRole; disabled_at: Date | null },
  what: string,
): Promise<void> {
  if (row.account_role !== "admin" || row.disabled_at) return;
  if ((await activeAdmins(trx, row.account_id)) <= 1)
    throw new DomainError(
      "CONFLICT",
      `This is the account's last admin: make another user an admin before you ${what}`,
    );
}

async function userOf(db: Kysely<Database>, actor: Actor, accountId: string, userId: string) {
  await findAccount(db, actor, accountId);
  const row = await db
    .selectFrom("users")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!row) throw notFound("User");
  return row;
}

/**
 * Disables a user: they can no longer sign in, their sessions end and the API tokens they made are revoked.
 * Nobody disables themselves (an account would lock itself out) or the platform administrator.
 */
export async function setUserDisabled(
  db: Kysely<Database>,
  actor: Actor,
  accountId: string,
  userId: string,
  disabled: boolean,
): Promise<User> {
  await findAccount(db, actor, accountId);
  const what = disabled ? "disable users" : "enable users";
  requireAccountAdmin(actor, what);
  if (disabled && actor.type === "user" && actor.id === userId)
    throw new DomainError("CONFLICT", "You cannot disable yourself: ask another admin of the account");
  return underAccountLock(db, actor, accountId, what, async (trx) => {
    const row = await userOf(trx, actor, accountId, userId);
    if (disabled && row.role === "admin")
      throw new DomainError("FORBIDDEN", "The platform administrator cannot be disabled");
    if (Boolean(row.disabled_at) === disabled) return toUser(row);
    if (disabled) await keepAnAdmin(trx, row, "disable this one");
    const updated = await trx
      .updateTable("users")
      .set({ disabled_at: disabled ? new Date() : null })
      .where("id", "=", userId)
      .returningAll()
      .executeTakeFirstOrThrow();
    let sessions = 0;
    let tokens = 0;
    if (disabled) {
      sessions = await endSessions(trx, userId);
      const revoked = await trx
        .updateTable("api_tokens")
        .set({ revoked_at: new Date(), revoked_by: "user-disabled" })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      tokens = Number(revoked.numUpdatedRows);
    }
    await audit(
      trx,
      { ...actor, accountId },
      disabled ? "user.disabled" : "user.enabled",
      { type: "user", id: userId },
      { login: row.login, ...(disabled ? { sessionsEnded: sessions, tokensRevoked: tokens } : {}) },
    );
    return toUser(updated);
  });
}

/**
 * Makes a user an admin of the account or a member. The account's admins may, and the platform administrator;
 * the account keeps at least one enabled admin. The tokens a demoted user made lose their admin rights too, and
 * their sessions carry the new role from their next request.
 */
export async function setUserRole(
  db: Kysely<Database>,
  actor: Actor,
  accountId: string,
  userId: string,
  role: AccountRole,
): Promise<User> {
  await findAccount(db, actor, accountId);
  const what = "change users' roles";
  requireAccountAdmin(actor, what);
  return underAccountLock(db, actor, accountId, what, async (trx) => {
    const row = await userOf(trx, actor, accountId, userId);
    if (row.account_role === role) return toUser(row);
    if (role === "member") await keepAnAdmin(trx, row, "make this one a member");
    const updated = await trx
      .updateTable("users")
      .set({ account_role: role })
      .where("id", "=", userId)
      .returningAll()
      .executeTakeFirstOrThrow();
    let tokensDemoted = 0;
    if (role === "member") {
      const r = await trx
        .updateTable("api_tokens")
        .set({ account_role: "member" })
        .where("user_id", "=", userId)
        .where("account_role", "=", "admin")
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      tokensDemoted = Number(r.numUpdatedRows);
    }
    await audit(
      trx,
      { ...actor, accountId },
      "user.role_changed",
      { type: "user", id: userId },
      { login: row.login, from: row.account_role, to: role, ...(role === "member" ? { tokensDemoted } : {}) },
    );
    return toUser(updated);
  });
}

/**
 * Changes the signed-in user's own password, given the current one; every other session of theirs ends (a
 * thief's included), the one making the change stays.
 */
export async function changePassword(
  db: Kysely<Database>,
  actor: Actor,
  input: { currentPassword: string; newPassword: string },
  currentSessionToken: string | undefined,
): Promise<{ sessionsEnded: number }> {
  if (actor.type !== "user" || !actor.id)
    throw new DomainError("FORBIDDEN", "Only a signed-in user can change their password");
  const row = await db.selectFrom("users").selectAll().where("id", "=", actor.id).executeTakeFirst();
  if (!row) throw notFound("User");
  if (!(await verifyPassword(input.currentPassword, row.password_hash))) {
    await audit(db, actor, "user.password_change_failed", { type: "user", id: row.id }, {});
    throw new DomainError("UNAUTHORIZED", "The current password is wrong", [
      { path: "currentPassword", message: "is wrong" },
    ]);
  }
  if (input.newPassword.length < MIN_PASSWORD_LENGTH)
    throw new DomainError(
      "VALIDATION_FAILED",
      `The new password must have at least ${MIN_PASSWORD_LENGTH} characters`,
      [{ path: "newPassword", message: `must have at least ${MIN_PASSWORD_LENGTH} characters` }],
    );
  await db
    .updateTable("users")
    .set({ password_hash: await hashPassword(input.newPassword), password_changed_at: new Date() })
    .where("id", "=", row.id)
    .execute();
  const sessionsEnded = await endSessions(db, row.id, currentSessionToken);
  await audit(db, actor, "user.password_changed", { type: "user", id: row.id }, { sessionsEnded });
  return { sessionsEnded };
}

/** Signs the user out everywhere: every session of theirs ends, this one included. */
export async function signOutEverywhere(
  db: Kysely<Database>,
  actor: Actor,
): Promise<{ sessionsEnded: number }> {
  if (actor.type !== "user" || !actor.id)
    throw new DomainError("FORBIDDEN", "Only a signed-in user has sessions to end");
  const sessionsEnded = await endSessions(db, actor.id);
  await audit(db, actor, "user.signed_out_everywhere", { type: "user", id: actor.id }, { sessionsEnded });
  return { sessionsEnded };
}

// A hash to check against for unknown logins, so that they cost the same time as a wrong password.
let dummyHash: Promise<string> | undefined;

/** Signs a user in: a new session and its token (for the cookie), or null for a wrong login or password. */
export async function signIn(
  db: Kysely<Database>,
  login: string,
  password: string,
  ip: string | null,
): Promise<{ token: string; user: User; expiresAt: Date } | null> {
  const row = await db
    .selectFrom("users")
    .selectAll()
    .where("login", "=", login.trim().toLowerCase())
    .executeTakeFirst();
  if (!row) {
    dummyHash ??= hashPassword("ferry-dummy-password");
    await verifyPassword(password, await dummyHash);
    return null;
  }
  const user = toUser(row);
  const actor: Actor = {
    accountId: user.accountId,
    type: "user",
    id: user.id,
    role: user.role,
    accountRole: user.accountRole,
    ip: ip ?? undefined,
  };
  if (!(await verifyPassword(password, row.password_hash))) {
    await audit(db, actor, "user.login_failed", { type: "user", id: user.id }, { via: "web" });
    return null;
  }
  if (row.disabled_at) {
    await audit(
      db,
      actor,
      "user.login_refused",
      { type: "user", id: user.id },
      { via: "web", reason: "disabled" },
    );
    return null;
  }
  const token = generateToken();
  const expiresAt = new Date(Date.now() + SESSION_MAX_MS);
  await db
    .insertInto("sessions")
    .values({
      id: newId(),
      account_id: user.accountId,
      user_id: user.id,
      token_hash: hashToken(token),
      expires_at: expiresAt,
      ip,
    })
    .execute();
  await audit(db, actor, "user.login", { type: "user", id: user.id }, { via: "web" });
  return { token, user, expiresAt };
}

/** The actor a session token stands for (and its user's login), or null if unknown, ended or expired. */
export async function authenticateSession(
  db: Kysely<Database>,
  token: string,
  ip?: string,
): Promise<(Actor & { login: string }) | null> {
  const row = await db
    .selectFrom("sessions as s")
    .innerJoin("users as u", "u.id", "s.user_id")
    .select([
      "s.id",
      "s.account_id",
      "s.user_id",
      "s.last_seen_at",
      "s.expires_at",
      "u.role",
      "u.account_role",
      "u.login",
    ])
    .where("s.token_hash", "=", hashToken(token))
    .where("s.ended_at", "is", null)
    .where("u.disabled_at", "is", null)
    .executeTakeFirst();
  const now = Date.now();
  if (!row || row.expires_at.getTime() <= now || now - row.last_seen_at.getTime() > SESSION_IDLE_MS)
    return null;
  // Record activity at most once a minute, so reads stay reads.
  if (now - row.last_seen_at.getTime() > 60_000) {
    await db
      .updateTable("sessions")
      .set({ last_seen_at: new Date(now) })
      .where("id", "=", row.id)
      .execute();
  }
  return {
    accountId: row.account_id,
    type: "user",
    id: row.user_id,
    role: row.role,
    accountRole: row.account_role,
    ip,
    login: row.login,
  };
}

/** Ends the session of a token (sign-out); unknown tokens are ignored. */
export async function signOut(db: Kysely<Database>, token: string): Promise<void> {
  await db
    .updateTable("sessions")
    .set({ ended_at: new Date() })
    .where("token_hash", "=", hashToken(token))
    .where("ended_at", "is", null)
    .execute();
}
