/**
 * Secrets of the server itself, shared by every node through the database and sealed with the master key:
 * the first node to need one makes it (or brings the one it had on disk), every later one reads that.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.js";
import type { SecretBox } from "./secretbox.js";

/** Where shared secrets come from: the database's value of `name`, or `make()`'s if there is none yet. */
export type SharedSecret = (name: string, make: () => Promise<string>) => Promise<string>;

/** The value of `name`: the one in the database, or `make()`'s, stored if no other node stored one first. */
export async function sharedSecret(
  db: Kysely<Database>,
  box: SecretBox,
  name: string,
  make: () => Promise<string>,
): Promise<string> {
  const read = async () =>
    (await sql<{ sealed: string }>`SELECT sealed FROM server_secrets WHERE name = ${name}`.execute(db))
      .rows[0]?.sealed;
  let sealed = await read();
  if (sealed === undefined) {
    await sql`INSERT INTO server_secrets (name, sealed) VALUES (${name}, ${box.seal(await make())})
              ON CONFLICT (name) DO NOTHING`.execute(db);
    sealed = (await read())!;
  }
  try {
    return box.open(sealed);
  } catch {
    throw new Error(
      `This database's server secrets were sealed with another master key: give every Ferry process that shares the database the same FERRY_MASTER_KEY (or FERRY_MASTER_KEY_FILE)`,
    );
  }
}

/** Refuses a master key other than the one the database's secrets (remote passwords, host keys) are sealed with. */
export async function checkMasterKey(db: Kysely<Database>, box: SecretBox): Promise<void> {
  await sharedSecret(db, box, "master_key_check", async () => "ferry");
}
