/**
 * Leftovers in the file store, swept at start and then periodically: uploads never committed (a process
 * killed mid-upload, a client gone without a word) and committed objects no database row refers to (the
 * database failed between the store's commit and the Transfer's). Both wait out a grace period first, so
 * work in progress is never touched: an upload being written is younger than it (idle sessions are closed
 * long before), and an object is referred to within the transaction that follows its commit.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.js";
import type { FileStore } from "./store.js";

/**
 * Only objects made within this long before the grace period are looked at: orphans are made by a crash at the
 * moment of a commit, and the sweep runs every 10 minutes, so each is seen many times within the window; the
 * store's whole history is never listed (it takes as long as the store is large).
 */
export const SWEEP_WINDOW_MS = 7 * 86_400_000;

export interface SweepOptions {
  /** Uploads not written to for this long are dead. At start, with the data directory locked: 0. */
  uploadGraceMs: number;
  /** Objects older than this that nothing refers to are removed. */
  objectGraceMs: number;
}

/** Default grace periods: an hour for uploads (idle sessions end after 10 minutes), six for objects. */
export const SWEEP_DEFAULTS: SweepOptions = { uploadGraceMs: 3_600_000, objectGraceMs: 6 * 3_600_000 };

export async function sweepStore(
  db: Kysely<Database>,
  store: FileStore,
  options: SweepOptions,
  now = Date.now(),
): Promise<{ uploads: number; objects: number }> {
  const uploads = await store.removeStaleUploads(new Date(now - options.uploadGraceMs));
  let objects = 0;
  const before = now - options.objectGraceMs;
  for await (const keys of store.objectsBetween(new Date(before - SWEEP_WINDOW_MS), new Date(before))) {
    const { rows } = await sql<{ key: string }>`
      SELECT store_key AS key FROM transfers WHERE store_key = ANY(${keys})
      UNION SELECT store_key FROM result_files WHERE store_key = ANY(${keys})
      UNION SELECT store_key FROM staged_files WHERE store_key = ANY(${keys})`.execute(db);
    const referenced = new Set(rows.map((r) => r.key));
    for (const key of keys) {
      if (referenced.has(key)) continue;
      await store.remove(key);
      objects++;
    }
  }
  return { uploads, objects };
}
