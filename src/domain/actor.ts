import type { AccountRole } from "../db/schema.js";
import { DomainError } from "./errors.js";

/** Who is acting: every domain call takes one, and every query it makes is scoped to actor.accountId. */

export interface Actor {
  /** The account all reads and writes are confined to. */
  accountId: string;
  type: "user" | "token" | "credential" | "system";
  /** The user, token or credential (an SFTP/FTP login) id; null for the system itself. */
  id: string | null;
  /** `admin` is the platform administrator: may create accounts and tokens for any account. */
  role: "admin" | "member";
  /** The role in the account: its `admin`s manage its users, API tokens and settings. */
  accountRole: AccountRole;
  /** The client's address, for the audit trail. */
  ip?: string | undefined;
}

/** An SFTP/FTP client logged in with a credential, acting inside the credential's account. */
export function credentialActor(accountId: string, credentialId: string, ip: string | null): Actor {
  return {
    accountId,
    type: "credential",
    id: credentialId,
    role: "member",
    accountRole: "member",
    ip: ip ?? undefined,
  };
}

/** The system acting inside an account (start-up bootstrap, scheduled work). */
export function systemActor(accountId: string): Actor {
  return { accountId, type: "system", id: null, role: "admin", accountRole: "admin" };
}

/** Whether the actor may manage the account's users, tokens and settings: its admins and the platform's. */
export const isAccountAdmin = (actor: Actor): boolean =>
  actor.role === "admin" || actor.accountRole === "admin";

/** Refuses an actor who is not an admin of the account: `what` completes "Only an admin of the account can". */
export function requireAccountAdmin(actor: Actor, what: string): void {
  if (!isAccountAdmin(actor)) throw new DomainError("FORBIDDEN", `Only an admin of the account can ${what}`);
}
