/**
 * Inbound email connections as the SMTP server sees them: which connection an address reaches, whether a
 * sender may write to it, which attachments it takes (the connection's file pattern).
 */
import type { Kysely } from "kysely";
import type { Database } from "../../db/schema.js";

export interface Mailbox {
  connectionId: string;
  accountId: string;
  /** Glob with * and ?, matched without case against attachment names. */
  filePattern: string;
  /** Lower-case addresses allowed to send; empty: anyone. */
  allowedSenders: string[];
}

/** The active inbound email connection at `address` (`<mailbox>@<domain>`), or null. */
export async function findMailbox(
  db: Kysely<Database>,
  domain: string,
  address: string,
): Promise<Mailbox | null> {
  const at = address.lastIndexOf("@");
  if (at < 1 || address.slice(at + 1).toLowerCase() !== domain) return null;
  const local = address.slice(0, at).toLowerCase();
  const row = await db
    .selectFrom("connections")
    .select(["id", "account_id", "details"])
    .where("mailbox", "=", local)
    .where("status", "=", "active")
    .where("direction", "=", "inbound")
    .where("method", "=", "email")
    .where("methodology", "=", "push_to_platform")
    .executeTakeFirst();
  if (!row) return null;
  const details = row.details as { filePattern?: string; allowedSenders?: string[] };
  return {
    connectionId: row.id,
    accountId: row.account_id,
    filePattern: details.filePattern ?? "*",
    allowedSenders: (details.allowedSenders ?? []).map((s) => s.toLowerCase()),
  };
}

export function senderAllowed(mailbox: Mailbox, sender: string | null): boolean {
  return (
    mailbox.allowedSenders.length === 0 ||
    (sender !== null && mailbox.allowedSenders.includes(sender.toLowerCase()))
  );
}
