/** How SFTP/FTP clients log in with a credential: password or public key, audited either way. */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { credentialActor } from "../domain/actor.js";
import { audit } from "../domain/audit.js";
import { hashPassword, verifyPassword } from "../domain/secrets.js";
import type { Login } from "./vfs.js";

interface CredentialRow {
  id: string;
  account_id: string;
  username: string;
  kind: "password" | "public_key";
  password_hash: string | null;
  public_key: string | null;
  max_sessions: number | null;
}

async function find(db: Kysely<Database>, username: string): Promise<CredentialRow | undefined> {
  return db
    .selectFrom("credentials")
    .select(["id", "account_id", "username", "kind", "password_hash", "public_key", "max_sessions"])
    .where("username", "=", username)
    .executeTakeFirst();
}

// A hash to verify against when the username is unknown, so that an unknown user and a wrong password take
// the same time and get the same answer.
let dummyHash: Promise<string> | undefined;

function toLogin(c: CredentialRow, protocol: Login["protocol"], remoteIp: string | null): Login {
  return {
    accountId: c.account_id,
    credentialId: c.id,
    username: c.username,
    protocol,
    remoteIp,
    maxSessions: c.max_sessions,
  };
}

/** The login for a username and password, or null. */
export async function passwordLogin(
  db: Kysely<Database>,
  username: string,
  password: string,
  protocol: Login["protocol"],
  remoteIp: string | null,
): Promise<Login | null> {
  const c = await find(db, username);
  if (c?.kind !== "password" || !c.password_hash) {
    dummyHash ??= hashPassword("ferry-dummy-password");
    await verifyPassword(password, await dummyHash);
    if (c) await loginFailed(db, c, protocol, remoteIp, "password");
    return null;
  }
  if (!(await verifyPassword(password, c.password_hash))) {
    await loginFailed(db, c, protocol, remoteIp, "password");
    return null;
  }
  return toLogin(c, protocol, remoteIp);
}

/**
 * The credential whose public key is `keyBlob` (SSH wire format) for this username, or null. The caller
 * still checks the client's signature with the returned OpenSSH key.
 */
export async function publicKeyCandidate(
  db: Kysely<Database>,
  username: string,
  keyBlob: Buffer,
  protocol: Login["protocol"],
  remoteIp: string | null,
): Promise<{ login: Login; publicKey: string } | null> {
  const c = await find(db, username);
  if (c?.kind !== "public_key" || !c.public_key) return null;
  const stored = Buffer.from(c.public_key.split(" ")[1] ?? "", "base64");
  if (!stored.equals(keyBlob)) return null;
  return { login: toLogin(c, protocol, remoteIp), publicKey: c.public_key };
}

async function loginFailed(
  db: Kysely<Database>,
  c: CredentialRow,
  protocol: string,
  remoteIp: string | null,
  method: string,
): Promise<void> {
  await audit(
    db,
    credentialActor(c.account_id, c.id, remoteIp),
    "login.failed",
    { type: "credential", id: c.id },
    { protocol, method, username: c.username },
  );
}

/** Records a successful login: audit event and the credential's last use. */
export async function loginSucceeded(db: Kysely<Database>, login: Login, method: string): Promise<void> {
  await db
    .updateTable("credentials")
    .set({ last_used_at: new Date() })
    .where("account_id", "=", login.accountId)
    .where("id", "=", login.credentialId)
    .execute();
  await audit(
    db,
    credentialActor(login.accountId, login.credentialId, login.remoteIp),
    "login.succeeded",
    { type: "credential", id: login.credentialId },
    { protocol: login.protocol, method, username: login.username },
  );
}
