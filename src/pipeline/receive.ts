/**
 * Durable receive: the one place where an uploaded file becomes a Transfer. Its bytes are already committed
 * in the FileStore; here one DB transaction records the Transfer (or a staged file, for temporary names),
 * detecting duplicates by checksum. A file is acknowledged to the client only after this commit.
 */

import { type Kysely, sql } from "kysely";
import { newId } from "../db/ids.js";
import type { Database, TransferProtocol } from "../db/schema.js";
import { reserveStorage } from "../domain/quota.js";
import { bytesReceived, filesReceived } from "../telemetry.js";
import { emitEvent, sqlClientOf } from "./events.js";
import type { JobQueue } from "./jobs.js";
import type { StoredObject } from "./store.js";

/** Who sent a file, through which connection and how. */
export interface Sender {
  accountId: string;
  connectionId: string;
  credentialId: string | null;
  protocol: TransferProtocol;
  remoteIp: string | null;
}

export interface Received {
  transferId: string;
  status: "received" | "duplicate";
  duplicateOf: string | null;
}

/**
 * Records a complete file as an inbound Transfer and enqueues its processing, in one transaction. The same
 * content (SHA-256) already received through the same connection makes this one a `duplicate` of it (its job
 * only writes the receipt and summary). Serialised per connection and checksum so that two identical uploads
 * at once cannot both be "first".
 */
export async function recordUpload(
  db: Kysely<Database>,
  queue: JobQueue,
  sender: Sender,
  fileName: string,
  object: StoredObject,
  /** More to record in the same transaction (e.g. which remote file a pull took). */
  within?: (trx: Kysely<Database>, received: Received) => Promise<void>,
): Promise<Received> {
  const received = await db.transaction().execute(async (trx) => {
    const r = await insertTransfer(trx, queue, sender, fileName, object);
    if (within) await within(trx, r);
    return r;
  });
  queue.wake();
  filesReceived.inc({ protocol: sender.protocol });
  bytesReceived.inc({ protocol: sender.protocol }, object.size);
  return received;
}

async function insertTransfer(
  trx: Kysely<Database>,
  queue: JobQueue,
  sender: Sender,
  fileName: string,
  object: StoredObject,
): Promise<Received> {
  await reserveStorage(trx, sender.accountId, object.size);
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`${sender.connectionId}:${object.sha256}`}))`.execute(
    trx,
  );
  const first = await trx
    .selectFrom("transfers")
    .select("id")
    .where("connection_id", "=", sender.connectionId)
    .where("sha256", "=", object.sha256)
    .where("status", "!=", "duplicate")
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  const id = newId();
  const status = first ? "duplicate" : "received";
  await trx
    .insertInto("transfers")
    .values({
      id,
      account_id: sender.accountId,
      connection_id: sender.connectionId,
      direction: "inbound",
      file_name: fileName,
      store_key: object.key,
      size: object.size,
      sha256: object.sha256,
      status,
      credential_id: sender.credentialId,
      protocol: sender.protocol,
      remote_ip: sender.remoteIp,
      duplicate_of: first?.id ?? null,
    })
    .execute();
  await queue.enqueueProcessing(trx, { transferId: id });
  await emitEvent(sqlClientOf(trx), queue, sender.accountId, first ? "file.duplicate" : "file.received", {
    transferId: id,
    connectionId: sender.connectionId,
    direction: "inbound",
    fileName,
    size: object.size,
    sha256: object.sha256,
    status,
    duplicateOf: first?.id ?? null,
  });
  return { transferId: id, status, duplicateOf: first?.id ?? null };
}

/**
 * Keeps a file uploaded under a temporary name until it is renamed. Replaces a staged file of the same name;
 * returns the store key it replaced, for the caller to remove.
 */
export async function stageUpload(
  db: Kysely<Database>,
  sender: Sender,
  fileName: string,
  object: StoredObject,
): Promise<string | null> {
  return db.transaction().execute(async (trx) => {
    const old = await trx
      .deleteFrom("staged_files")
      .where("connection_id", "=", sender.connectionId)
      .where("file_name", "=", fileName)
      .returning("store_key")
      .executeTakeFirst();
    // After the file it replaces is gone: re-uploading one file under a temporary name stays within quota.
    await reserveStorage(trx, sender.accountId, object.size);
    await trx
      .insertInto("staged_files")
      .values({
        id: newId(),
        account_id: sender.accountId,
        connection_id: sender.connectionId,
        file_name: fileName,
        store_key: object.key,
        size: object.size,
        sha256: object.sha256,
        credential_id: sender.credentialId,
        remote_ip: sender.remoteIp,
        protocol: sender.protocol,
      })
      .execute();
    return old?.store_key ?? null;
  });
}

/** Renames a staged file to another temporary name. False when there is no such staged file. */
export async function renameStaged(
  db: Kysely<Database>,
  connectionId: string,
  from: string,
  to: string,
): Promise<boolean> {
  const result = await db
    .updateTable("staged_files")
    .set({ file_name: to })
    .where("connection_id", "=", connectionId)
    .where("file_name", "=", from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Turns a staged file into a Transfer under its final name, in one transaction. Null if none is staged. */
export async function promoteStaged(
  db: Kysely<Database>,
  queue: JobQueue,
  connectionId: string,
  from: string,
  finalName: string,
): Promise<Received | null> {
  const received = await db.transaction().execute(async (trx) => {
    const staged = await trx
      .deleteFrom("staged_files")
      .where("connection_id", "=", connectionId)
      .where("file_name", "=", from)
      .returningAll()
      .executeTakeFirst();
    if (!staged) return null;
    const received = await insertTransfer(
      trx,
      queue,
      {
        accountId: staged.account_id,
        connectionId,
        credentialId: staged.credential_id,
        protocol: staged.protocol,
        remoteIp: staged.remote_ip,
      },
      finalName,
      { key: staged.store_key, size: staged.size, sha256: staged.sha256 },
    );
    // The time the client gave the file while it had its temporary name.
    if (staged.client_mtime) {
      await trx
        .updateTable("transfers")
        .set({ client_mtime: staged.client_mtime })
        .where("id", "=", received.transferId)
        .execute();
    }
    return received;
  });
  if (received) queue.wake();
  return received;
}

/** Removes a staged file; returns its store key, or null if there was none. */
export async function dropStaged(
  db: Kysely<Database>,
  connectionId: string,
  name: string,
): Promise<string | null> {
  const row = await db
    .deleteFrom("staged_files")
    .where("connection_id", "=", connectionId)
    .where("file_name", "=", name)
    .returning("store_key")
    .executeTakeFirst();
  return row?.store_key ?? null;
}
