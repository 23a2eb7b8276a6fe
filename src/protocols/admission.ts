/**
 * Connections that have not logged in yet: at most so many per IP address and in all, each with a grace
 * period to log in — OpenSSH's PerSourceMaxStartups, MaxStartups and LoginGraceTime, for every server.
 * Without them a client could hold thousands of silent connections (each a file descriptor) for ever.
 * Kept in this process's memory: each Ferry process guards its own sockets.
 */

/** An IPv4 client's address as an IPv4 string: "::ffff:127.0.0.1" (a dual-stack socket's form) → "127.0.0.1". */
export function plainIp(ip: string | undefined): string {
  return (ip ?? "").replace(/^::ffff:/, "");
}

export interface AdmissionOptions {
  /** Connections not yet logged in from one IP address. */
  perIp: number;
  /** Connections not yet logged in, from anywhere. */
  total: number;
  /** Time from accept to login; then the connection is closed. */
  graceMs: number;
}

/** One admitted connection's place; both calls are idempotent. */
export interface PreAuth {
  /** The client logged in: its place is free for another, and the grace timer stops. */
  loggedIn(): void;
  /** The connection closed (before or after logging in). */
  closed(): void;
}

export class Admission {
  private byIp = new Map<string, number>();
  private count = 0;

  constructor(private options: AdmissionOptions) {}

  /** How many connections wait to log in now (for tests and metrics). */
  get waiting(): number {
    return this.count;
  }

  /**
   * A place for a new connection from `ip`, or the reason it is refused. `expire` runs (once) when the grace
   * period ends before the client logged in: it should close the connection.
   */
  admit(ip: string, expire: () => void): PreAuth | { refused: string } {
    const fromIp = this.byIp.get(ip) ?? 0;
    if (fromIp >= this.options.perIp) return { refused: "too many connections from your address" };
    if (this.count >= this.options.total) return { refused: "too many connections; try again later" };
    this.byIp.set(ip, fromIp + 1);
    this.count++;
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.count--;
      const n = (this.byIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.byIp.delete(ip);
      else this.byIp.set(ip, n);
    };
    const timer = setTimeout(() => {
      release();
      expire();
    }, this.options.graceMs);
    timer.unref();
    return { loggedIn: release, closed: release };
  }
}
