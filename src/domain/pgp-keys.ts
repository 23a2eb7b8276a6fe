/**
 * OpenPGP keys (RFC 4880 keys, which GnuPG 2.2 and every partner tool read): an account's own key pairs,
 * generated here — partners encrypt inbound files to the public key, Ferry signs outbound files with the
 * private one, sealed under the master key and never shown — and partners' public keys, imported, which
 * verify inbound signatures and receive outbound files. Keys are never deleted, only retired. The pipeline
 * reaches them through `pgpKeyring` (pipeline/pgp.ts does the decrypting and encrypting).
 */
import { type Kysely, type Selectable, sql } from "kysely";
import * as openpgp from "openpgp";
import { isId, newId } from "../db/ids.js";
import type { Database, PgpKeysTable } from "../db/schema.js";
import { messageOf } from "../thrown.js";
import { type Actor, requireAccountAdmin } from "./actor.js";
import { audit } from "./audit.js";
import { DomainError, invalid, isUniqueViolation, notFound } from "./errors.js";
import type { PgpAlgorithm } from "./pgp-algorithms.js";
import type { SecretBox } from "./secretbox.js";

// The key types Ferry generates. Curve25519 is the "legacy" EdDSA/ECDH pair that GnuPG 2.2 reads.
export { PGP_ALGORITHMS, type PgpAlgorithm } from "./pgp-algorithms.js";

/** Default life of a generated key, as impact.com's: two years. */
export const DEFAULT_EXPIRY_DAYS = 730;
/** A key expiring within this many days is flagged. */
export const EXPIRY_WARNING_DAYS = 30;
/** Keys per account, own and partners' together. */
export const MAX_KEYS = 100;
/** Largest armored public key accepted (a key with many signatures is a few tens of KiB). */
const MAX_ARMORED_CHARS = 256 * 1024;

export interface PgpKey {
  id: string;
  kind: "own" | "partner";
  name: string;
  /** 40 hex digits (v4), as `gpg --fingerprint` prints them without spaces. */
  fingerprint: string;
  /** The long key id (16 hex digits). */
  keyId: string;
  /** e.g. "RSA 3072", "Curve25519". */
  algorithm: string;
  userIds: string[];
  createdAt: Date;
  expiresAt: Date | null;
  /** "expired", "expiring" (within EXPIRY_WARNING_DAYS), or null. */
  expiry: "expired" | "expiring" | null;
  status: "active" | "retired";
  /** Connections that name this key (partner keys: verify or encrypt to it). */
  usedBy: { id: string; name: string }[];
}

const hex = (s: string) => s.toUpperCase();

function expiryOf(expiresAt: Date | null, now = new Date()): PgpKey["expiry"] {
  if (!expiresAt) return null;
  if (expiresAt <= now) return "expired";
  return expiresAt.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * 86_400_000 ? "expiring" : null;
}

const toKey = (r: Selectable<PgpKeysTable>, usedBy: PgpKey["usedBy"] = []): PgpKey => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  fingerprint: r.fingerprint,
  keyId: r.key_id,
  algorithm: r.algorithm,
  userIds: r.user_ids,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  expiry: expiryOf(r.expires_at),
  status: r.status,
  usedBy,
});

/** "RSA 3072", "Curve25519", "ECDSA P-256"… of a key's primary key. */
function describe(key: openpgp.Key): string {
  const info = key.getAlgorithmInfo();
  if (info.bits) return `${info.algorithm.startsWith("rsa") ? "RSA" : info.algorithm} ${info.bits}`;
  if (info.algorithm === "eddsaLegacy" || info.algorithm === "ed25519") return "Curve25519";
  if (info.algorithm === "ed448") return "Curve448";
  return `${info.algorithm.toUpperCase()} ${info.curve ?? ""}`.trim();
}

async function expiryDate(key: openpgp.Key): Promise<Date | null> {
  const t = await key.getExpirationTime();
  return t instanceof Date ? t : null;
}

/** Connections naming each key, by key id. */
async function usage(db: Kysely<Database>, accountId: string): Promise<Map<string, PgpKey["usedBy"]>> {
  const rows = await db
    .selectFrom("connections")
    .select(["id", "name", "details"])
    .where("account_id", "=", accountId)
    .where(sql<boolean>`details ?| array['pgpSignedBy', 'pgpEncryptTo']`)
    .execute();
  const used = new Map<string, PgpKey["usedBy"]>();
  for (const r of rows) {
    const d = r.details as { pgpSignedBy?: string; pgpEncryptTo?: string };
    for (const id of new Set([d.pgpSignedBy, d.pgpEncryptTo])) {
      if (id) used.set(id, [...(used.get(id) ?? []), { id: r.id, name: r.name }]);
    }
  }
  return used;
}

async function findKey(db: Kysely<Database>, actor: Actor, id: string) {
  if (!isId(id)) throw notFound("PGP key");
  const row = await db
    .selectFrom("pgp_keys")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw notFound("PGP key");
  return row;
}

/** The account's keys, own ones first, newest first within each kind. */
export async function listPgpKeys(db: Kysely<Database>, actor: Actor): Promise<PgpKey[]> {
  const rows = await db
    .selectFrom("pgp_keys")
    .selectAll()
    .where("account_id", "=", actor.accountId)
    .orderBy("kind")
    .orderBy("created_at", "desc")
    .execute();
  const used = await usage(db, actor.accountId);
  return rows.map((r) => toKey(r, used.get(r.id)));
}

export async function getPgpKey(db: Kysely<Database>, actor: Actor, id: string): Promise<PgpKey> {
  const row = await findKey(db, actor, id);
  return toKey(row, (await usage(db, actor.accountId)).get(row.id));
}

/** A key's armored public key (for the partner, or to check what was imported). */
export async function publicKeyOf(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
): Promise<{ name: string; fingerprint: string; armored: string }> {
  const row = await findKey(db, actor, id);
  return { name: row.name, fingerprint: row.fingerprint, armored: row.public_key };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 100) {
    throw invalid([{ path: "name", message: "must be 1 to 100 characters" }]);
  }
  return trimmed;
}

/** Adds a key to the account, its columns read from the key itself (a private key is given sealed). */
async function insertKey(
  db: Kysely<Database>,
  actor: Actor,
  kind: "own" | "partner",
  name: string,
  key: openpgp.Key,
  privateKeySealed: string | null,
) {
  const fingerprint = hex(key.getFingerprint());
  try {
    return await db.transaction().execute(async (trx) => {
      // The account row serialises additions, so the cap holds under concurrent requests.
      await trx.selectFrom("accounts").select("id").where("id", "=", actor.accountId).forUpdate().execute();
      await checkRoom(trx, actor.accountId);
      return trx
        .insertInto("pgp_keys")
        .values({
          id: newId(),
          account_id: actor.accountId,
          kind,
          name,
          fingerprint,
          key_id: hex(key.getKeyID().toHex()),
          algorithm: describe(key),
          user_ids: key.getUserIDs(),
          public_key: key.toPublic().armor(),
          private_key_sealed: privateKeySealed,
          expires_at: await expiryDate(key),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    });
  } catch (err) {
    if (isUniqueViolation(err, "pgp_keys_account_fingerprint")) {
      throw new DomainError("CONFLICT", `The account already has the key ${fingerprint}`);
    }
    throw err;
  }
}

/** Refuses one more key beyond MAX_KEYS. */
async function checkRoom(db: Kysely<Database>, accountId: string): Promise<void> {
  const { n } = await db
    .selectFrom("pgp_keys")
    .select((e) => e.fn.countAll<number>().as("n"))
    .where("account_id", "=", accountId)
    .executeTakeFirstOrThrow();
  if (Number(n) >= MAX_KEYS) throw new DomainError("CONFLICT", `An account has at most ${MAX_KEYS} PGP keys`);
}

/** Generates a key pair for the account; its public key is then downloadable, its private key never. */
export async function generatePgpKey(
  db: Kysely<Database>,
  box: SecretBox,
  actor: Actor,
  input: { name: string; algorithm?: PgpAlgorithm | undefined; expiresInDays?: number | null | undefined },
): Promise<PgpKey> {
  requireAccountAdmin(actor, "create PGP keys");
  const name = checkName(input.name);
  const algorithm = input.algorithm ?? "curve25519";
  const days = input.expiresInDays === undefined ? DEFAULT_EXPIRY_DAYS : input.expiresInDays;
  if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
    throw invalid([
      {
        path: "expiresInDays",
        message: "must be a whole number of days from 1 to 3650, or null for no expiry",
      },
    ]);
  }
  // Before generating: an RSA 4096 key costs about a second of CPU, not to be spent past the cap.
  await checkRoom(db, actor.accountId);
  const account = await db
    .selectFrom("accounts")
    .select("name")
    .where("id", "=", actor.accountId)
    .executeTakeFirstOrThrow();
  const { privateKey } = await openpgp.generateKey({
    ...(algorithm === "curve25519"
      ? { type: "ecc", curve: "curve25519Legacy" }
      : { type: "rsa", rsaBits: algorithm === "rsa3072" ? 3072 : 4096 }),
    userIDs: [{ name: `${account.name} (Ferry)`.slice(0, 200) }],
    keyExpirationTime: days === null ? 0 : days * 86_400,
    format: "object",
  });
  const row = await insertKey(db, actor, "own", name, privateKey, box.seal(privateKey.armor()));
  await audit(
    db,
    actor,
    "pgp_key.created",
    { type: "pgp_key", id: row.id },
    {
      name,
      fingerprint: row.fingerprint,
      algorithm: row.algorithm,
      expiresAt: row.expires_at,
    },
  );
  return toKey(row);
}

/** Reads a pasted public key: one key, not private, not expired or revoked, RSA of at least 2048 bits. */
export async function readPartnerKey(armored: string): Promise<openpgp.PublicKey> {
  const text = armored.trim();
  const refuse = (message: string) => invalid([{ path: "publicKey", message }]);
  if (text === "")
    throw refuse("is empty; paste the partner's public key (gpg --armor --export <their key>)");
  if (text.length > MAX_ARMORED_CHARS) throw refuse(`is longer than ${MAX_ARMORED_CHARS} characters`);
  if (/BEGIN PGP PRIVATE KEY BLOCK/.test(text)) {
    throw refuse("is a private key; never share it. Paste the partner's public key (gpg --armor --export)");
  }
  if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(text)) {
    throw refuse(
      'is not an armored OpenPGP public key ("-----BEGIN PGP PUBLIC KEY BLOCK-----"; gpg --armor --export)',
    );
  }
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: text });
  } catch (err) {
    throw refuse(`could not be read: ${messageOf(err)}`);
  }
  if (keys.length !== 1) throw refuse(`holds ${keys.length} keys; paste exactly one`);
  const key = keys[0]!;
  if (key.isPrivate()) throw refuse("is a private key; paste the public key");
  const info = key.getAlgorithmInfo();
  if (info.algorithm.startsWith("rsa") && (info.bits ?? 0) < 2048) {
    throw refuse(`is RSA ${info.bits}; at least 2048 bits are needed`);
  }
  if (await key.isRevoked())
    throw refuse("has been revoked by its owner; ask the partner for their current key");
  const expires = await expiryDate(key);
  if (expires && expires <= new Date()) {
    throw refuse(`expired on ${expires.toISOString().slice(0, 10)}; ask the partner for their current key`);
  }
  try {
    await key.verifyPrimaryKey();
  } catch (err) {
    throw refuse(`is not valid: ${messageOf(err)}`);
  }
  return key as openpgp.PublicKey;
}

/** Adds a partner's public key to the account. */
export async function importPartnerKey(
  db: Kysely<Database>,
  actor: Actor,
  input: { name: string; publicKey: string },
): Promise<PgpKey> {
  requireAccountAdmin(actor, "add PGP keys");
  const name = checkName(input.name);
  const key = await readPartnerKey(input.publicKey);
  const row = await insertKey(db, actor, "partner", name, key, null);
  await audit(
    db,
    actor,
    "pgp_key.imported",
    { type: "pgp_key", id: row.id },
    {
      name,
      fingerprint: row.fingerprint,
      userIds: row.user_ids,
      expiresAt: row.expires_at,
    },
  );
  return toKey(row);
}

/** Renames, retires or reactivates a key. A partner key in use by a connection cannot be retired. */
export async function updatePgpKey(
  db: Kysely<Database>,
  actor: Actor,
  id: string,
  change: { name?: string | undefined; status?: "active" | "retired" | undefined },
): Promise<PgpKey> {
  requireAccountAdmin(actor, "change PGP keys");
  const before = await findKey(db, actor, id);
  const used = (await usage(db, actor.accountId)).get(before.id) ?? [];
  if (change.status === "retired" && used.length) {
    throw new DomainError(
      "CONFLICT",
      `The key is used by ${used.map((c) => `"${c.name}"`).join(", ")}; change ${used.length === 1 ? "that connection" : "those connections"} first`,
    );
  }
  const row = await db
    .updateTable("pgp_keys")
    .set({
      ...(change.name !== undefined ? { name: checkName(change.name) } : {}),
      ...(change.status !== undefined ? { status: change.status } : {}),
      updated_at: new Date(),
    })
    .where("id", "=", before.id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const action =
    change.status && change.status !== before.status
      ? change.status === "retired"
        ? "pgp_key.retired"
        : "pgp_key.reactivated"
      : "pgp_key.updated";
  await audit(db, actor, action, { type: "pgp_key", id }, { ...change, fingerprint: row.fingerprint });
  return toKey(row, used);
}

/** Checks that `id` is an active partner key of the account: for connection details naming one. */
export async function checkPartnerKey(
  db: Kysely<Database>,
  accountId: string,
  id: string,
  path: string,
): Promise<void> {
  const row = isId(id)
    ? await db
        .selectFrom("pgp_keys")
        .select(["kind", "status"])
        .where("account_id", "=", accountId)
        .where("id", "=", id)
        .executeTakeFirst()
    : undefined;
  if (!row) throw invalid([{ path, message: "no PGP key with this id in your account" }]);
  if (row.kind !== "partner") {
    throw invalid([
      { path, message: "is one of your own keys; name the partner's public key (import it first)" },
    ]);
  }
  if (row.status !== "active") throw invalid([{ path, message: "is a retired key" }]);
}

// --- for the pipeline -------------------------------------------------------------------------------------

/** A key as the pipeline uses it, with what it says of it in errors. */
export interface KeyringEntry<K> {
  key: K;
  name: string;
  fingerprint: string;
  expiresAt: Date | null;
}

/** The keys the pipeline decrypts, verifies, encrypts and signs with. */
export interface PgpKeyring {
  /** The account's active own keys, newest first (decryption; the first one signs). */
  ownKeys(accountId: string): Promise<KeyringEntry<openpgp.PrivateKey>[]>;
  /** A partner key of the account (active or not: a retired one still says which it was). */
  partnerKey(
    accountId: string,
    id: string,
  ): Promise<(KeyringEntry<openpgp.PublicKey> & { status: string }) | null>;
  /** Every key of the account, by long key id of the key and its subkeys: to name a key a file was made with. */
  describeKeyIds(accountId: string, keyIds: string[]): Promise<string[]>;
}

export function pgpKeyring(db: Kysely<Database>, box: SecretBox): PgpKeyring {
  return {
    async ownKeys(accountId) {
      const rows = await db
        .selectFrom("pgp_keys")
        .select(["name", "fingerprint", "expires_at", "private_key_sealed"])
        .where("account_id", "=", accountId)
        .where("kind", "=", "own")
        .where("status", "=", "active")
        .orderBy("created_at", "desc")
        .execute();
      return Promise.all(
        rows.map(async (r) => ({
          key: await openpgp.readPrivateKey({ armoredKey: box.open(r.private_key_sealed!) }),
          name: r.name,
          fingerprint: r.fingerprint,
          expiresAt: r.expires_at,
        })),
      );
    },
    async partnerKey(accountId, id) {
      if (!isId(id)) return null;
      const r = await db
        .selectFrom("pgp_keys")
        .select(["name", "fingerprint", "expires_at", "public_key", "status"])
        .where("account_id", "=", accountId)
        .where("id", "=", id)
        .where("kind", "=", "partner")
        .executeTakeFirst();
      if (!r) return null;
      return {
        key: await openpgp.readKey({ armoredKey: r.public_key }),
        name: r.name,
        fingerprint: r.fingerprint,
        expiresAt: r.expires_at,
        status: r.status,
      };
    },
    async describeKeyIds(accountId, keyIds) {
      const rows = await db
        .selectFrom("pgp_keys")
        .select(["name", "kind", "status", "public_key"])
        .where("account_id", "=", accountId)
        .execute();
      const wanted = new Set(keyIds.map(hex));
      const out: string[] = [];
      for (const r of rows) {
        const key = await openpgp.readKey({ armoredKey: r.public_key });
        if (key.getKeyIDs().some((k) => wanted.has(hex(k.toHex())))) {
          out.push(
            `"${r.name}"${r.status === "retired" ? " (retired)" : ""}${r.kind === "partner" ? " (a partner's key)" : ""}`,
          );
        }
      }
      return out;
    },
  };
}
