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
 * Kept in this process's memory: with several Ferry processes each one counts on its own (a load balancer
 * with source-IP affinity keeps an attacker on one process).
 */

export interface GuardOptions {
  /** Failures within the window that ban an IP address and username pair (the IP alone: three times this). */
  maxFailures: number;
  windowMs: number;
  banMs: number;
  /** Concurrent sessions allowed per credential. */
  maxSessionsPerCredential: number;
  /** Open SFTP handles allowed per credential across its sessions. */
  maxHandlesPerCredential: number;
  /** Wait before answering a failure for a username under attack. (Default: 2000) */
  failureDelayMs?: number;
}

interface Counter {
  failures: number[];
  bannedUntil: number;
}

/** An IP address alone is banned after this many times `maxFailures` (spraying many usernames). */
const IP_FACTOR = 3;

export class LoginGuard {
  private counters = new Map<string, Counter>();
  private sessions = new Map<string, number>();
  private handles = new Map<string, number>();

  constructor(private options: GuardOptions) {}

  private counter(key: string): Counter {
    let c = this.counters.get(key);
    if (!c) {
      c = { failures: [], bannedUntil: 0 };
      this.counters.set(key, c);
    }
    return c;
  }

  /** Whether the address, or the address with this username, is banned now. */
  isBanned(ip: string, username: string, now = Date.now()): boolean {
    return [`ip:${ip}`, `pair:${ip}|${username}`].some((k) => (this.counters.get(k)?.bannedUntil ?? 0) > now);
  }

  /**
   * Counts a failed attempt; resolves after the delay owed to a username under attack (callers answer the
   * client after it).
   */
  async failed(ip: string, username: string, now = Date.now()): Promise<void> {
    const limits: [string, number][] = [
      [`pair:${ip}|${username}`, this.options.maxFailures],
      [`ip:${ip}`, this.options.maxFailures * IP_FACTOR],
    ];
    for (const [key, max] of limits) {
      const c = this.record(key, now);
      if (c.failures.length >= max) {
        c.bannedUntil = now + this.options.banMs;
        c.failures = [];
      }
    }
    const user = this.record(`user:${username}`, now);
    if (this.counters.size > 100_000) this.prune(now);
    if (user.failures.length > this.options.maxFailures) {
      await new Promise((r) => setTimeout(r, this.options.failureDelayMs ?? 2000));
    }
  }

  private record(key: string, now: number): Counter {
    const c = this.counter(key);
    c.failures = c.failures.filter((t) => now - t < this.options.windowMs);
    c.failures.push(now);
    return c;
  }

  succeeded(ip: string, username: string): void {
    this.counters.delete(`pair:${ip}|${username}`);
    this.counters.delete(`user:${username}`);
  }

  /** The session cap of a login: its credential's own, or the server's default. */
  sessionCap(login: { maxSessions: number | null }): number {
    return login.maxSessions ?? this.options.maxSessionsPerCredential;
  }

  /** Takes a session slot for a credential; false when it already has its maximum. */
  openSession(login: { credentialId: string; maxSessions: number | null }): boolean {
    return take(this.sessions, login.credentialId, this.sessionCap(login));
  }

  closeSession(credentialId: string): void {
    release(this.sessions, credentialId);
  }

  /** Takes one of a credential's open-handle slots; false when it holds the maximum. */
  takeHandle(credentialId: string): boolean {
    return take(this.handles, credentialId, this.options.maxHandlesPerCredential);
  }

  releaseHandle(credentialId: string): void {
    release(this.handles, credentialId);
  }

  private prune(now: number): void {
    for (const [key, c] of this.counters) {
      if (c.bannedUntil < now && c.failures.every((t) => now - t >= this.options.windowMs))
        this.counters.delete(key);
    }
  }
}

/** Takes a slot of `key` in a counting map; false when it already holds `max`. */
function take(counts: Map<string, number>, key: string, max: number): boolean {
  const n = counts.get(key) ?? 0;
  if (n >= max) return false;
  counts.set(key, n + 1);
  return true;
}

function release(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
