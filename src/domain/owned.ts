/** Whether an id names a row of the actor's account: the one check behind every cross-reference by id. */
import type { Kysely } from "kysely";
import { isId } from "../db/ids.js";
import type { Database } from "../db/schema.js";

/** Tables whose rows belong to an account and are referred to by id. */
type Owned = "connections" | "credentials" | "transfers";

/** True when `id` is a row of `table` in `accountId`; a malformed id is simply not there. */
export async function ownedBy(
  db: Kysely<Database>,
  table: Owned,
  accountId: string,
  id: string,
): Promise<boolean> {
  if (!isId(id)) return false;
  const row = await db
    .selectFrom(table)
    .select("id")
    .where("account_id", "=", accountId)
    .where("id", "=", id)
    .executeTakeFirst();
  return row !== undefined;
}
