/**
 * "Test connection": a server login tried before it is saved (or a saved connection's, again), through the same
 * connector as pulls and deliveries — the egress policy applies, the pinned key is checked — listing the folder
 * and reporting the host key or certificate to accept. Nothing is pulled, written or removed. Each test is
 * audited, and an account may run a few a minute (each is a connection Ferry makes to an address it is given).
 */
import type { Actor } from "../domain/actor.js";
import { audit } from "../domain/audit.js";
import type { ConnectionTest } from "../domain/connection-rules.js";
import { DomainError, invalid, notFound } from "../domain/errors.js";
import { type PullDetails, type RemoteAccess, type RemoteTestResult, testRemote } from "./remote.js";

/** Tests an account may run per minute. */
export const TESTS_PER_MINUTE = 10;
const recent = new Map<string, number[]>();

function allow(accountId: string, now = Date.now()): void {
  const times = (recent.get(accountId) ?? []).filter((t) => now - t < 60_000);
  if (times.length >= TESTS_PER_MINUTE)
    throw new DomainError(
      "TOO_MANY_REQUESTS",
      `At most ${TESTS_PER_MINUTE} connection tests a minute: try again in a moment`,
    );
  times.push(now);
  recent.set(accountId, times);
}

const DEFAULT_PORT = { sftp: 22, ftp: 21, email: 993 } as const;

export async function testConnection(
  access: RemoteAccess,
  actor: Actor,
  input: ConnectionTest,
): Promise<
  RemoteTestResult & { method: "sftp" | "ftp" | "email"; host: string; port: number; username: string }
> {
  let stored: (Partial<PullDetails> & { method: "sftp" | "ftp" | "email" }) | undefined;
  if (input.connectionId) {
    const c = await access.db
      .selectFrom("connections")
      .select(["method", "details"])
      .where("account_id", "=", actor.accountId)
      .where("id", "=", input.connectionId)
      .executeTakeFirst();
    if (!c) throw notFound("Connection");
    stored = { ...(c.details as Partial<PullDetails>), method: c.method as "sftp" | "ftp" | "email" };
  }
  const method = input.method ?? stored?.method;
  const host = input.host ?? stored?.host;
  const username = input.username ?? stored?.username;
  const missing = [
    ...(method ? [] : [{ path: "method", message: "is required" }]),
    ...(host ? [] : [{ path: "host", message: "give the server's host name or IP address" }]),
    ...(username ? [] : [{ path: "username", message: "give the login on that server" }]),
  ];
  if (missing.length || !method || !host || !username) throw invalid(missing);
  const port = input.port ?? stored?.port ?? DEFAULT_PORT[method];
  allow(actor.accountId);
  const result = await testRemote(access, actor.accountId, method, {
    host,
    port,
    username,
    // A password typed for the test; else the saved connection's (sealed).
    ...(input.password !== undefined
      ? { password: input.password }
      : { passwordSealed: stored?.passwordSealed }),
    authMethod: input.authMethod ?? stored?.authMethod,
    hostKeyFingerprint: input.hostKeyFingerprint ?? stored?.hostKeyFingerprint,
    security: input.security ?? stored?.security,
    tls: input.tls ?? stored?.tls,
    folder:
      (method === "email" ? (input.mailbox ?? stored?.mailbox) : (input.folder ?? stored?.folder)) ?? "/",
  });
  await audit(
    access.db,
    actor,
    "connection.tested",
    { type: "connection", id: input.connectionId ?? null },
    { method, host, port, username, ok: result.ok, ...(result.error ? { error: result.error.code } : {}) },
  );
  return { ...result, method, host, port, username };
}
