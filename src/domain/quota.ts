/**
 * Storage quota per account (optional, set by the administrator): the bytes an account's received files may
 * take in the store. Counted: inbound files still stored (duplicates included: each keeps its own copy) and
 * files uploaded under a temporary name. Checked twice: before an upload starts (its size limit becomes what
 * is left, so a full account writes nothing) and in the transaction that records the file, under a lock on
 * the account, so that uploads at once cannot together go over it.
 */
import { type Expression, type Kysely, sql } from "kysely";
import type { Database } from "../db/schema.js";
import { DomainError } from "./errors.js";
import { accountBytes } from "./storage.js";

export interface StorageUse {
  quotaBytes: number | null;
  usedBytes: number;
}

/**
 * The bytes the account's received files take, in SQL: of an account id, or of a column (`accounts.id`). Read
 * from the counters triggers keep (storage.ts), a few rows per account however long its history.
 */
export const usedBytes = (account: string | Expression<string>) =>
  accountBytes(account, ["inbound", "staged"]);

/** The account's quota and the bytes its received files take. */
export async function storageUse(db: Kysely<Database>, accountId: string): Promise<StorageUse> {
  const r = await sql<{ quota: string | null; used: string }>`
    SELECT storage_quota_bytes AS quota, ${usedBytes(accountId)} AS used FROM accounts WHERE id = ${accountId}`.execute(
    db,
  );
  const row = r.rows[0];
  return { quotaBytes: row?.quota ? Number(row.quota) : null, usedBytes: Number(row?.used ?? 0) };
}

/** Refuses a file of `size` bytes that the account's quota has no room for. */
function ensureRoom(use: StorageUse, size: number): void {
  if (use.quotaBytes !== null && use.usedBytes + size > use.quotaBytes) throw quotaExceeded(use, size);
}

/** Refuses a file of `size` bytes the account has no room for now (a check ahead; reserveStorage decides). */
export async function checkRoom(db: Kysely<Database>, accountId: string, size: number): Promise<void> {
  ensureRoom(await storageUse(db, accountId), size);
}

export function quotaExceeded(use: StorageUse, adding: number): DomainError {
  return new DomainError(
    "QUOTA_EXCEEDED",
    adding > 0
      ? `Storage quota exceeded: the account's files take ${use.usedBytes} of its ${use.quotaBytes} bytes, and this file needs ${adding} more. Ask the platform administrator for a larger quota.`
      : `Storage quota reached: the account's files take ${use.usedBytes} of its ${use.quotaBytes} bytes. Ask the platform administrator for a larger quota.`,
  );
}

export interface UploadLimit {
  /** The most bytes the upload may have. */
  bytes: number;
  /** What the client is told when its file goes over `bytes`. */
  refusal: string;
}

/**
 * The most bytes a new upload of the account may have: `limit` (the server's per-file limit), or less when the
 * quota leaves less. Throws QUOTA_EXCEEDED when the account is full, before any byte is written.
 */
export async function uploadLimit(
  db: Kysely<Database>,
  accountId: string,
  limit: number,
): Promise<UploadLimit> {
  const tooLarge = { bytes: limit, refusal: `File too large: the limit is ${limit} bytes` };
  const use = await storageUse(db, accountId);
  if (use.quotaBytes === null) return tooLarge;
  const left = use.quotaBytes - use.usedBytes;
  if (left <= 0) throw quotaExceeded(use, 0);
  if (left >= limit) return tooLarge;
  return {
    bytes: left,
    refusal: `Storage quota exceeded: the account's files take ${use.usedBytes} of its ${use.quotaBytes} bytes, which leaves ${left} bytes for this file. Ask the platform administrator for a larger quota.`,
  };
}

/** Whether the account has a quota and its files already take all of it. */
export async function storageFull(db: Kysely<Database>, accountId: string): Promise<boolean> {
  const use = await storageUse(db, accountId);
  return use.quotaBytes !== null && use.usedBytes >= use.quotaBytes;
}

export const isQuotaExceeded = (err: unknown): err is DomainError =>
  err instanceof DomainError && err.code === "QUOTA_EXCEEDED";

/** Inside the transaction that records a file of `size` bytes: refuses it if the quota would be exceeded. */
export async function reserveStorage(trx: Kysely<Database>, accountId: string, size: number): Promise<void> {
  const account = await trx
    .selectFrom("accounts")
    .select("storage_quota_bytes")
    .where("id", "=", accountId)
    .executeTakeFirst();
  if (!account?.storage_quota_bytes) return;
  // Uploads of one account that finish at once are counted one after the other.
  await sql`SELECT 1 FROM accounts WHERE id = ${accountId} FOR NO KEY UPDATE`.execute(trx);
  await checkRoom(trx, accountId, size);
}
