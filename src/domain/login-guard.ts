/**
 * Failed-login limits shared by the SFTP, FTP and web sign-in, and caps on what one credential may hold.
 *
 * Bans target what an attacker controls, never what strangers can see: an IP address and username pair is
 * banned after `maxFailures` failures within the window, an IP address after three times that (guessing
 * across usernames). A username alone is never banned — its login is in the connection's address, so anyone
 * could lock its real client out — but once it has `maxFailures` recent failures from anywhere, each further
 * failure is answered only after `failureDelayMs`, which slows guessing without refusing the right password.
 * Only real failures count: a wrong password or a bad signature, not a public key offered that is not the
 * credential's (clients try their keys in turn).
 *
 * Failures, bans and open sessions are kept in PostgreSQL (unlogged tables, the database's clock), so every
 * Ferry node behind a load balancer sees the same: a ban made through one node holds on all at once, and a
 * credential's session cap counts its sessions everywhere. Open SFTP handles are counted per node, in memory:
 * their cap protects the node's own file descriptors.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { inTransaction } from "../db/pool.js";
import { loginFailures, openSessions } from "../telemetry.js";

/** The default window in which failures count towards a ban. */
export const FAILURE_WINDOW_MS = 15 * 60_000;

export interface GuardOptions {
  /** Failures within the window that ban an IP address and username pair (the IP alone: three times this). */
  maxFailures: number;
  windowMs: number;
  banMs: number;
  /** Concurrent sessions allowed per credential (unless the credential has its own cap). */
  maxSessionsPerCredential: number;
  /** Open SFTP handles allowed per credential across its sessions on this node. */
  maxHandlesPerCredential: number;
  /** Wait before answering a failure for a username under attack. (Default: 2000) */
  failureDelayMs?: number;
}

/** An IP address alone is banned after this many times `maxFailures` (spraying many usernames). */
const IP_FACTOR = 3;
/** A node refreshes its sessions this often; a session not refreshed for SESSION_LOST_S no longer counts. */
const HEARTBEAT_MS = 30_000;
const SESSION_LOST_S = 90;

/** An open session's place in its credential's count: give it back with close(). */
export interface SessionSlot {
  close(): Promise<void>;
}

export class LoginGuard {
  private handles = new Map<string, number>();
  /** This process, in the sessions table. */
  private node = randomUUID();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private pool: pg.Pool,
    private options: GuardOptions,
  ) {}

  /** Starts refreshing this node's sessions (and pruning what has expired); stop() ends it. */
  start(): void {
    this.timer = setInterval(() => {
      this.heartbeat().catch(() => {});
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async heartbeat(): Promise<void> {
    await this.pool.query("UPDATE login_sessions SET seen_at = clock_timestamp() WHERE node = $1", [
      this.node,
    ]);
    await this.pool.query(
      `DELETE FROM login_sessions WHERE seen_at < clock_timestamp() - make_interval(secs => $1)`,
      [SESSION_LOST_S],
    );
    await this.pool.query(
      "DELETE FROM login_failures WHERE at < clock_timestamp() - make_interval(secs => $1)",
      [this.options.windowMs / 1000],
    );
    await this.pool.query("DELETE FROM login_bans WHERE until < clock_timestamp()");
  }

  /** Whether the address, or the address with this username, is banned now (on any node). */
  async isBanned(ip: string, username: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      "SELECT 1 FROM login_bans WHERE key = ANY($1) AND until > clock_timestamp()",
      [[`ip:${ip}`, `pair:${ip}|${username}`]],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Counts a failed attempt; resolves after the delay owed to a username under attack (callers answer the
   * client after it).
   */
  async failed(ip: string, username: string, protocol = "other"): Promise<void> {
    loginFailures.inc({ protocol });
    const { maxFailures, windowMs, banMs } = this.options;
    const pair = `pair:${ip}|${username}`;
    const address = `ip:${ip}`;
    const user = `user:${username}`;
    const { rows } = await this.pool.query<{ key: string; n: number }>(
      `WITH added AS (INSERT INTO login_failures (key) VALUES ($1), ($2), ($3))
       SELECT key, count(*)::int + 1 AS n FROM login_failures
       WHERE key IN ($1, $2, $3) AND at > clock_timestamp() - make_interval(secs => $4)
       GROUP BY key`,
      [pair, address, user, windowMs / 1000],
    );
    const count = (key: string) => rows.find((r) => r.key === key)?.n ?? 1;
    for (const [key, max] of [
      [pair, maxFailures],
      [address, maxFailures * IP_FACTOR],
    ] as const) {
      if (count(key) < max) continue;
      await this.pool.query(
        `INSERT INTO login_bans (key, until) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
         ON CONFLICT (key) DO UPDATE SET until = excluded.until`,
        [key, banMs / 1000],
      );
      await this.pool.query("DELETE FROM login_failures WHERE key = $1", [key]);
    }
    if (count(user) > maxFailures) {
      await new Promise((r) => setTimeout(r, this.options.failureDelayMs ?? 2000));
    }
  }

  async succeeded(ip: string, username: string): Promise<void> {
    await this.pool.query("DELETE FROM login_failures WHERE key IN ($1, $2)", [
      `pair:${ip}|${username}`,
      `user:${username}`,
    ]);
  }

  /** The session cap of a login: its credential's own, or the server's default. */
  sessionCap(login: { maxSessions: number | null }): number {
    return login.maxSessions ?? this.options.maxSessionsPerCredential;
  }

  /**
   * Takes a session slot for a credential, counting its sessions on every node; null when it already has its
   * maximum.
   */
  async openSession(login: {
    credentialId: string;
    maxSessions: number | null;
    protocol?: string;
  }): Promise<SessionSlot | null> {
    const id = randomUUID();
    const taken = await inTransaction(this.pool, async (client) => {
      // One credential's sessions are counted one opening at a time, across nodes.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
        `ferry-sessions:${login.credentialId}`,
      ]);
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM login_sessions
         WHERE credential_id = $1 AND seen_at > clock_timestamp() - make_interval(secs => $2)`,
        [login.credentialId, SESSION_LOST_S],
      );
      if ((rows[0]?.n ?? 0) >= this.sessionCap(login)) return false;
      await client.query("INSERT INTO login_sessions (id, credential_id, node) VALUES ($1, $2, $3)", [
        id,
        login.credentialId,
        this.node,
      ]);
      return true;
    });
    if (!taken) return null;
    let closed = false;
    const protocol = login.protocol ?? "other";
    openSessions.inc({ protocol });
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        openSessions.dec({ protocol });
        await this.pool.query("DELETE FROM login_sessions WHERE id = $1", [id]).catch(() => {});
      },
    };
  }

  /** Takes one of a credential's open-handle slots on this node; false when it holds the maximum. */
  takeHandle(credentialId: string): boolean {
    const n = this.handles.get(credentialId) ?? 0;
    if (n >= this.options.maxHandlesPerCredential) return false;
    this.handles.set(credentialId, n + 1);
    return true;
  }

  releaseHandle(credentialId: string): void {
    const n = (this.handles.get(credentialId) ?? 1) - 1;
    if (n <= 0) this.handles.delete(credentialId);
    else this.handles.set(credentialId, n);
  }
}
