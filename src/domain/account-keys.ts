/**
 * The SSH key pair Ferry logs in with to an account's own servers (pull from a third party, push of outbound
 * files). Made on first use; the user installs the public key on their server. The private key never leaves
 * Ferry and is stored sealed with the master key.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { generateSshKeyPair, parsePublicKey } from "./keys.js";
import type { SecretBox } from "./secretbox.js";

export interface AccountKey {
  /** OpenSSH one-line form, for authorized_keys. */
  publicKey: string;
  fingerprint: string;
  createdAt: Date;
}

/** The account's key (created now if it has none). */
export async function accountKey(
  db: Kysely<Database>,
  box: SecretBox,
  accountId: string,
): Promise<AccountKey> {
  const row = await find(db, accountId);
  if (row) return { publicKey: row.public_key, fingerprint: row.fingerprint, createdAt: row.created_at };
  const pair = generateSshKeyPair("ed25519", { comment: `ferry-${accountId.slice(0, 8)}` });
  const parsed = parsePublicKey(pair.public);
  if (!parsed.ok) throw new Error(`generated key is invalid: ${parsed.message}`);
  await db
    .insertInto("account_keys")
    .values({
      account_id: accountId,
      public_key: pair.public.trim(),
      fingerprint: parsed.key.fingerprint,
      private_key_sealed: box.seal(pair.private),
    })
    .onConflict((oc) => oc.column("account_id").doNothing())
    .execute();
  const made = (await find(db, accountId))!;
  return { publicKey: made.public_key, fingerprint: made.fingerprint, createdAt: made.created_at };
}

/** The account's private key in OpenSSH form, for logging in. */
export async function accountPrivateKey(
  db: Kysely<Database>,
  box: SecretBox,
  accountId: string,
): Promise<string> {
  await accountKey(db, box, accountId);
  return box.open((await find(db, accountId))!.private_key_sealed);
}

function find(db: Kysely<Database>, accountId: string) {
  return db.selectFrom("account_keys").selectAll().where("account_id", "=", accountId).executeTakeFirst();
}
