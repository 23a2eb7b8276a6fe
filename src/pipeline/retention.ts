/**
 * Retention of generated files: after `days`, an outbound file's bytes leave the store; its Transfer stays
 * (with `contentAvailable: false`). The record is cleared first, then the bytes removed, so a crash in
 * between leaves unreferenced bytes (removed by nobody, harmless) rather than a Transfer pointing at nothing.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { FileStore } from "./store.js";

/** Expires up to `limit` files older than `days` at `now`; returns how many. */
export async function expireFiles(
  db: Kysely<Database>,
  store: FileStore,
  days: number,
  now: Date = new Date(),
  limit = 1000,
): Promise<number> {
  const before = new Date(now.getTime() - days * 86_400_000);
  const due = await db
    .selectFrom("transfers")
    .select(["id", "store_key"])
    .where("direction", "=", "outbound")
    .where("store_key", "is not", null)
    .where("created_at", "<", before)
    .orderBy("id")
    .limit(limit)
    .execute();
  let expired = 0;
  for (const t of due) {
    const cleared = await db
      .updateTable("transfers")
      .set({ store_key: null, updated_at: new Date() })
      .where("id", "=", t.id)
      .where("store_key", "=", t.store_key)
      .executeTakeFirst();
    if (Number(cleared.numUpdatedRows) === 0) continue; // another process took it
    await store.remove(t.store_key!);
    expired++;
  }
  return expired;
}
