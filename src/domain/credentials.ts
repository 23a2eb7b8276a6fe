/**
 * Credentials: what an SFTP/FTP client logs in with. A generated password is returned once and kept only as a
 * slow hash; a public key is validated and kept with its fingerprint. Reusable across connections; every
 * change is audited.
 */
import type { Kysely, Selectable, Updateable } from "kysely";
import { isId, newId } from "../db/ids.js";
import type { CredentialsTable, Database } from "../db/schema.js";
import type { Actor } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, invalid, isUniqueViolation, notFound } from "./errors.js";
import { parsePublicKey } from "./keys.js";
import { type Page, type PageRequest, pageBounds, toPage } from "./page.js";
import { generatePassword, generateUsername, hashPassword } from "./secrets.js";

export type CredentialKind = "password" | "public_key";

/** A credential as every reader sees it: no secret, ever. */
export interface Credential {
  id: string;
  name: string;
  kind: CredentialKind;
  username: string;
  /** For public_key: the key in OpenSSH form (public, safe to show). */
  publicKey: string | null;
  keyType: string | null;
  keyBits: number | null;
  /** For public_key: `SHA256:...` as `ssh-keygen -l` prints it. */
  fingerprint: string | null;
  /** The connections that use it. */
  usedBy: { id: string; name: string }[];
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  /** Concurrent SFTP/FTP sessions this login may have; null: the server's default. */
  maxSessions: number | null;
}

/** The most concurrent sessions a credential may be given (each holds an SSH or FTP connection). */
export const MAX_SESSIONS_CEILING = 256;

/** The create and reset responses: the only places a generated password appears. */
export type CredentialWithSecret = Credential & { password?: string };

export interface NewCredential {
  name: string;
  kind: CredentialKind;
  publicKey?: string | undefined;
  maxSessions?: number | null | undefined;
}

export interface CredentialChange {
  name?: string | undefined;
  publicKey?: string | undefined;
  maxSessions?: number | null | undefined;
}

type Row = Selectable<CredentialsTable>;

function toCredential(r: Row, usedBy: { id: string; name: string }[]): Credential {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    username: r.username,
    publicKey: r.public_key,
    keyType: r.key_type,
    keyBits: r.key_bits,
    fingerprint: r.fingerprint,
    usedBy,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastUsedAt: r.last_used_at,
    maxSessions: r.max_sessions,
  };
}

function checkMaxSessions(n: number | null): number | null {
  if (n !== null && !(Number.isInteger(n) && n >= 1 && n <= MAX_SESSIONS_CEILING)) {
    throw invalid([
      { path: "maxSessions", message: `must be a whole number from 1 to ${MAX_SESSIONS_CEILING}, or null` },
    ]);
  }
  return n;
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) {
    throw invalid([{ path: "name", message: "must be 1 to 200 characters" }]);
  }
  return trimmed;
}

function keyColumns(text: string) {
  const parsed = parsePublicKey(text);
  if (!parsed.ok) throw invalid([{ path: "publicKey", message: parsed.message }]);
  const k = parsed.key;
  return { public_key: k.openssh, key_type: k.type, key_bits: k.bits, fingerprint: k.fingerprint };
}

function nameTaken(name: string): DomainError {
  return new DomainError("CONFLICT", `A credential named "${name}" already exists in this account`, [
    { path: "name", message: "is already used by another credential" },
  ]);
}

/** Creates a credential. For kind `password` the response carries the generated password, this once. */
export async function createCredential(
  db: Kysely<Database>,
  actor: Actor,
  input: NewCredential,
): Promise<CredentialWithSecret> {
  const name = checkName(input.name);
  let secret: { password: string; password_hash: string } | undefined;
  let key: ReturnType<typeof keyColumns> | undefined;
  if (input.kind === "password") {
    if (input.publicKey !== undefined) {
      throw invalid([
        { path: "publicKey", message: 'is only for kind "public_key"; a password is generated' },
      ]);
    }
    const password = generatePassword();
    secret = { password, password_hash: await hashPassword(password) };
  } else {
    if (input.publicKey === undefined) {
      throw invalid([{ path: "publicKey", message: 'is required for kind "public_key"' }]);
    }
    key = keyColumns(input.publicKey);
  }

  // The username is random-suffixed; on the rare collision, draw again.
  for (let attempt = 0; ; attempt++) {
    try {
      const row = await db
        .insertInto("credentials")
        .values({
          id: newId(),
          account_id: actor.accountId,
          name,
          kind: input.kind,
          username: generateUsername(name),
          password_hash: secret?.password_hash ?? null,
          max_sessions: checkMaxSessions(input.maxSessions ?? null),
          ...(key ?? {}),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(
        db,
        actor,
        "credential.created",
        { type: "credential", id: row.id },
        {
          name,
          kind: row.kind,
          username: row.username,
          ...(row.fingerprint ? { fingerprint: row.fingerprint } : {}),
        },
      );
      const credential = toCredential(row, []);
      return secret ? { ...credential, password: secret.password } : credential;
    } catch (err) {
      if (isUniqueViolation(err, "credentials_account_name")) throw nameTaken(name);
      if (isUniqueViolation(err, "credentials_username_key") && attempt < 5) continue;
      throw err;
    }
  }
}

async function usedByOf(db: Kysely<Database>, actor: Actor, ids: string[]) {
  const map = new Map<string, { id: string; name: string }[]>();
  if (ids.length === 0) return map;
  const rows = await db
    .selectFrom("connections")
    .select(["id", "name", "credential_id"])
    .where("account_id", "=", actor.accountId)
    .where("credential_id", "in", ids)
    .orderBy("id")
    .execute();
  for (const r of rows) {
    const list = map.get(r.credential_id!) ?? [];
    list.push({ id: r.id, name: r.name });
    map.set(r.credential_id!, list);
  }
  return map;
}

async function findRow(db: Kysely<Database>, actor: Actor, id: string): Promise<Row> {
  if (!isId(id)) throw notFound("Credential");
  const row = await db
    .selectFrom("credentials")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("Credential");
  return row;
}

/** One credential of the actor's account. */
export async function getCredential(db: Kysely<Database>, actor: Actor, id: string): Promise<Credential> {
  const row = await findRow(db, actor, id);
  return toCredential(row, (await usedByOf(db, actor, [row.id])).get(row.id) ?? []);
}

/** The actor's credentials, oldest first, a page at a time. */
export async function listCredentials(
  db: Kysely<Database>,
  actor: Actor,
  req: PageRequest & { kind?: CredentialKind | undefined } = {},
): Promise<Page<Credential>> {
  const { limit, after } = pageBounds(req);
  let q = db
    .selectFrom("credentials")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .orderBy("id")
    .limit(limit + 1);
  if (after) q = q.where("id", ">", after);
  if (req.kind) q = q.where("kind", "=", req.kind);
  const rows = await q.execute();
  const used = await usedByOf(
    db,
    actor,
    rows.map((r) => r.id),
  );
  return toPage(rows, limit, (r) => toCredential(r, used.get(r.id) ?? []));
}

/** Renames a credential and/or replaces its public key. */
export async function updateCredential(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
  change: CredentialChange,
): Promise<Credential> {
  const row = await findRow(db, actor, id);
  const set: Updateable<CredentialsTable> = {};
  if (change.name !== undefined) set.name = checkName(change.name);
  if (change.maxSessions !== undefined) set.max_sessions = checkMaxSessions(change.maxSessions);
  if (change.publicKey !== undefined) {
    if (row.kind !== "public_key") {
      throw invalid([
        { path: "publicKey", message: 'this credential is of kind "password"; reset its password instead' },
      ]);
    }
    Object.assign(set, keyColumns(change.publicKey));
  }
  if (Object.keys(set).length === 0) return getCredential(db, actor, id);
  try {
    await db
      .updateTable("credentials")
      .set({ ...set, updated_at: new Date() })
      .where("account_id", "=", actor.accountId)
      .where("id", "=", id)
      .execute();
  } catch (err) {
    if (isUniqueViolation(err, "credentials_account_name")) throw nameTaken(set.name ?? "");
    throw err;
  }
  if (set.name !== undefined && set.name !== row.name) {
    await audit(
      db,
      actor,
      "credential.renamed",
      { type: "credential", id },
      { from: row.name, to: set.name },
    );
  }
  if (set.max_sessions !== undefined && set.max_sessions !== row.max_sessions) {
    await audit(
      db,
      actor,
      "credential.max_sessions_set",
      { type: "credential", id },
      { from: row.max_sessions, to: set.max_sessions },
    );
  }
  if (set.fingerprint !== undefined) {
    await audit(
      db,
      actor,
      "credential.key_replaced",
      { type: "credential", id },
      {
        from: row.fingerprint,
        to: set.fingerprint,
      },
    );
  }
  return getCredential(db, actor, id);
}

/** Generates a new password for a password credential, returned this once; the old one stops working. */
export async function resetPassword(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
): Promise<CredentialWithSecret> {
  const row = await findRow(db, actor, id);
  if (row.kind !== "password") {
    throw new DomainError("CONFLICT", 'Only credentials of kind "password" have a password to reset', [
      { path: "kind", message: 'is "public_key"; replace the key instead' },
    ]);
  }
  const password = generatePassword();
  await db
    .updateTable("credentials")
    .set({ password_hash: await hashPassword(password), updated_at: new Date() })
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .execute();
  await audit(db, actor, "credential.password_reset", { type: "credential", id });
  return { ...(await getCredential(db, actor, id)), password };
}
