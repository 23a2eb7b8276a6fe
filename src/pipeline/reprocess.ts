/**
 * Processing a received file again: after fixing a connection's settings (its encoding, all or nothing…) or
 * the platform's data a file referred to, or to accept a file refused as a duplicate of an earlier one. The
 * attempt is a new transfer of the same stored bytes (`reprocess_of`), processed by the usual job, so each
 * attempt keeps its own status and results in the history. Rows an earlier attempt applied come back as
 * duplicates (they are matched by their keys, as rows of any other file are), never as second actions.
 */
import type { Kysely } from "kysely";
import { newId } from "../db/ids.js";
import type { Database } from "../db/schema.js";
import { DomainError, notFound } from "../domain/errors.js";
import { emitEvent, sqlClientOf } from "./events.js";
import type { JobQueue } from "./jobs.js";

export interface Reprocessed {
  transferId: string;
  /** The transfer processed again, and whether it had been refused as a duplicate (now accepted). */
  original: { id: string; fileName: string; status: string };
}

/** Adds a new processing attempt of the account's transfer `id`; refuses what cannot be processed again. */
export async function reprocess(
  db: Kysely<Database>,
  queue: JobQueue,
  accountId: string,
  id: string,
): Promise<Reprocessed> {
  const result = await db.transaction().execute(async (trx) => {
    // Locked: retention clears an original's bytes only when no attempt holds them (retention.ts).
    const t = await trx
      .selectFrom("transfers as t")
      .innerJoin("connections as c", "c.id", "t.connection_id")
      .select([
        "t.id",
        "t.connection_id",
        "t.file_name",
        "t.store_key",
        "t.size",
        "t.sha256",
        "t.status",
        "t.direction",
        "t.protocol",
        "c.status as connection_status",
      ])
      .where("t.account_id", "=", accountId)
      .where("t.id", "=", id)
      .forUpdate("t")
      .executeTakeFirst();
    if (!t) throw notFound("Transfer");
    if (t.direction !== "inbound") {
      throw new DomainError("CONFLICT", "Only received files are processed; this one was generated here");
    }
    if (t.status === "received" || t.status === "processing") {
      throw new DomainError("CONFLICT", "The file is being processed now; wait for its result");
    }
    if (!t.store_key) {
      throw new DomainError(
        "CONFLICT",
        "The file's content is no longer kept (retention removed it): it cannot be processed again",
      );
    }
    if (t.connection_status !== "active") throw new DomainError("CONFLICT", "The connection is disabled");
    const transferId = newId();
    await trx
      .insertInto("transfers")
      .values({
        id: transferId,
        account_id: accountId,
        connection_id: t.connection_id,
        direction: "inbound",
        file_name: t.file_name,
        store_key: t.store_key,
        size: t.size,
        sha256: t.sha256,
        status: "received",
        credential_id: null,
        protocol: t.protocol,
        remote_ip: null,
        duplicate_of: null,
        reprocess_of: t.id,
      })
      .execute();
    await queue.enqueueProcessing(trx, { transferId });
    await emitEvent(sqlClientOf(trx), queue, accountId, "file.received", {
      transferId,
      connectionId: t.connection_id,
      direction: "inbound",
      fileName: t.file_name,
      size: t.size,
      sha256: t.sha256,
      status: "received",
      reprocessOf: t.id,
    });
    return { transferId, original: { id: t.id, fileName: t.file_name, status: t.status } };
  });
  queue.wake();
  return result;
}
