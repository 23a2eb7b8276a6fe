/**
 * Users (people who sign in to the web UI) and their sessions. A user belongs to one account; the session
 * cookie holds a random token of which only the SHA-256 is stored.
 */
import type { Kysely } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import { getAccount } from "./accounts.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError } from "./errors.js";
import { generatePassword, generateToken, hashPassword, hashToken, verifyPassword } from "./secrets.js";

export interface User {
  id: string;
  accountId: string;
  login: string;
  role: "admin" | "member";
  createdAt: Date;
}

/** A session ends after this long without a request… */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** …and in any case after this long. */
export const SESSION_MAX_MS = 7 * 86_400_000;

/**
 * Creates a user in `accountId` with a generated password, returned in clear this once. The administrator
 * may do so for any account, anyone else only for their own. New users are never administrators.
 */
export async function createUser(
  db: Kysely<Database>,
  actor: Actor,
  accountId: string,
  input: { login: string },
): Promise<User & { password: string }> {
  await getAccount(db, actor, accountId);
  const login = input.login.trim().toLowerCase();
  const taken = await db.selectFrom("users").select("id").where("login", "=", login).executeTakeFirst();
  if (taken)
    throw new DomainError("CONFLICT", `The login "${login}" is taken`, [
      { path: "login", message: "is already in use" },
    ]);
  const password = generatePassword();
  const row = await db
    .insertInto("users")
    .values({
      id: newId(),
      account_id: accountId,
      login,
      password_hash: await hashPassword(password),
      role: "member",
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await audit(db, { ...actor, accountId }, "user.created", { type: "user", id: row.id }, { login });
  return { ...toUser(row), password };
}

/** The users of an account the actor can see. */
export async function listUsers(db: Kysely<Database>, actor: Actor, accountId: string): Promise<User[]> {
  await getAccount(db, actor, accountId);
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
  created_at: Date;
}): User {
  return { id: r.id, accountId: r.account_id, login: r.login, role: r.role, createdAt: r.created_at };
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
    ip: ip ?? undefined,
  };
  if (!(await verifyPassword(password, row.password_hash))) {
    await audit(db, actor, "user.login_failed", { type: "user", id: user.id }, { via: "web" });
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
    .select(["s.id", "s.account_id", "s.user_id", "s.last_seen_at", "s.expires_at", "u.role", "u.login"])
    .where("s.token_hash", "=", hashToken(token))
    .where("s.ended_at", "is", null)
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
  return { accountId: row.account_id, type: "user", id: row.user_id, role: row.role, ip, login: row.login };
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
