/**
 * Failed-login limits shared by the SFTP and FTP servers: too many failures from one IP address or for one
 * username within a window ban it for a while; and a cap on concurrent sessions per credential.
 * Kept in this process's memory: with several Ferry processes each one counts on its own (a load balancer
 * with source-IP affinity keeps an attacker on one process).
 */

export interface GuardOptions {
  /** Failures within the window that trigger a ban. */
  maxFailures: number;
  windowMs: number;
  banMs: number;
  /** Concurrent sessions allowed per credential. */
  maxSessionsPerCredential: number;
  /** Open SFTP handles allowed per credential across its sessions. */
  maxHandlesPerCredential: number;
}

interface Counter {
  failures: number[];
  bannedUntil: number;
}

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

  /** Whether the address or the username is banned now. */
  isBanned(ip: string, username: string, now = Date.now()): boolean {
    return [`ip:${ip}`, `user:${username}`].some((k) => (this.counters.get(k)?.bannedUntil ?? 0) > now);
  }

  failed(ip: string, username: string, now = Date.now()): void {
    for (const key of [`ip:${ip}`, `user:${username}`]) {
      const c = this.counter(key);
      c.failures = c.failures.filter((t) => now - t < this.options.windowMs);
      c.failures.push(now);
      if (c.failures.length >= this.options.maxFailures) {
        c.bannedUntil = now + this.options.banMs;
        c.failures = [];
      }
    }
    if (this.counters.size > 100_000) this.prune(now);
  }

  succeeded(username: string): void {
    this.counters.delete(`user:${username}`);
  }

  /** Takes a session slot for a credential; false when it already has the maximum. */
  openSession(credentialId: string): boolean {
    return take(this.sessions, credentialId, this.options.maxSessionsPerCredential);
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
