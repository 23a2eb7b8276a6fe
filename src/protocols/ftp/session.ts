/**
 * One FTP control connection (RFC 959): reads command lines, answers each in turn, upgrades to TLS on AUTH
 * TLS (RFC 4217), logs the client in, and owns its data connection (data-channel.ts) and file system view.
 * The commands themselves are in commands.ts, transfers.ts, listing.ts and mlsx.ts.
 *
 * Limits, each against a client that would hold the server: a command line is at most MAX_LINE bytes (longer:
 * 500 and the connection closes), at most MAX_QUEUED lines wait to be answered (more: the connection is read
 * no further until they are), the connection closes after `idleMs` without a command (suspended while a
 * transfer moves data: the data connection has its own idle cut, transfers.ts), and before login the
 * admission's grace period and caps apply (server.ts).
 */
import type net from "node:net";
import tls from "node:tls";
import type { Logger } from "pino";
import { isDatabaseUnavailable } from "../../db/pool.js";
import type { LoginGuard, SessionSlot } from "../../domain/login-guard.js";
import { plainIp } from "../admission.js";
import { loginSucceeded, passwordLogin } from "../logins.js";
import { carryClient, type ProxySources } from "../proxy-protocol.js";
import { type VfsDeps, VirtualFs } from "../vfs.js";
import { DataChannel, type PassivePorts } from "./data-channel.js";
import { FerryFileSystem } from "./filesystem.js";

/** The longest command line read (RFC 959 sets none; vsftpd reads 4 KiB). */
export const MAX_LINE = 4096;
/** Command lines that may wait to be answered before reading stops. */
const MAX_QUEUED = 32;

/** One command: its handler, and whether it is answered before login. */
export interface FtpCommand {
  handler(session: FtpSession, arg: string, directive: string): Promise<void>;
  beforeLogin?: boolean;
}

export interface SessionOptions {
  /** The commands answered, by directive (commands.ts); anything else is 502. */
  commands: Readonly<Record<string, FtpCommand>>;
  deps: VfsDeps;
  guard: LoginGuard;
  tls: tls.SecureContextOptions;
  secureContext: tls.SecureContext;
  requireTls: boolean;
  activeMode: boolean;
  idleMs: number;
  /** The address given to clients in PASV answers. */
  passiveAddress: string;
  ports: PassivePorts;
  proxySources: ProxySources;
  log: Logger;
}

export class FtpSession {
  /** The control connection's socket: the TCP one, then the TLS one over it after AUTH TLS. */
  control: net.Socket;
  secure = false;
  /** PROT P: data connections over TLS. */
  protectData = false;
  pbszSent = false;
  /** The file system view, once logged in. */
  fs: FerryFileSystem | null = null;
  /** USER's name, waiting for PASS. */
  user: string | null = null;
  /** REST's offset for the next RETR (0: none). */
  restOffset = 0;
  /** RNFR's path, for the next command if it is RNTO. */
  renameFrom: string | null = null;
  readonly data: DataChannel;
  readonly log: Logger;

  private readonly tcp: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private running = false;
  /** Reading waits while an AUTH line is answered (what follows it is the TLS handshake, not commands). */
  private upgrading = false;
  private readPaused = false;
  private transferring = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private slot: SessionSlot | null = null;
  private closed = false;
  private closing = false;
  private closeHandlers: (() => void)[] = [];
  private loggedInHandlers: (() => void)[] = [];

  constructor(
    socket: net.Socket,
    readonly options: SessionOptions,
  ) {
    this.tcp = socket;
    this.control = socket;
    this.log = options.log;
    this.data = new DataChannel({
      ports: options.ports,
      proxySources: options.proxySources,
      tls: options.tls,
      clientIp: () => this.clientIp,
      log: options.log,
    });
    socket.on("error", (err) => this.log.debug({ err }, "control connection failed"));
    socket.on("close", () => this.ended());
    socket.on("data", this.onData);
  }

  get clientIp(): string {
    return plainIp(this.tcp.remoteAddress);
  }

  get loggedIn(): boolean {
    return this.fs !== null;
  }

  /** Greets the client and starts reading its commands. */
  start(greeting: string[]): void {
    void this.reply(220, ...greeting);
    this.touch();
    this.tcp.resume();
  }

  /** Runs `handler` when the connection closes (at once if it already has). */
  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closeHandlers.push(handler);
  }

  /**
   * Sends a reply: one line ("226 Transfer complete") or several ("211-Features", " MLST …", "211 End"); lines
   * between the first and the last are sent as given. Resolves once written (or at once on a closed socket).
   */
  reply(code: number, ...lines: string[]): Promise<void> {
    const text = lines.length > 0 ? lines : [DEFAULT_TEXT[code] ?? ""];
    const out =
      text.length === 1
        ? `${code} ${text[0]}\r\n`
        : `${code}-${text[0]}\r\n${text
            .slice(1, -1)
            .map((l) => `${l}\r\n`)
            .join("")}${code} ${text.at(-1)}\r\n`;
    const socket = this.control;
    if (socket.destroyed || !socket.writable) return Promise.resolve();
    return new Promise((resolve) => socket.write(out, () => resolve()));
  }

  /** Answers `code` and closes the connection once the reply is written. */
  async closeWith(code: number, text: string): Promise<void> {
    if (this.closing) return;
    // Nothing more is read as a command (a client that goes on sending is not answered again).
    this.closing = true;
    this.lines = [];
    await this.reply(code, text);
    this.control.end();
    setTimeout(() => this.tcp.destroy(), 1000).unref();
  }

  private onData = (chunk: Buffer): void => {
    if (this.closing) return;
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.takeLines();
  };

  private takeLines(): void {
    while (!this.upgrading && !this.closed) {
      const end = this.buffered.indexOf(10);
      if (end < 0 ? this.buffered.length > MAX_LINE : end > MAX_LINE) {
        this.buffered = Buffer.alloc(0);
        void this.closeWith(500, `Command line too long (at most ${MAX_LINE} bytes)`);
        return;
      }
      if (end < 0) break;
      const line = commandText(this.buffered.subarray(0, end));
      this.buffered = this.buffered.subarray(end + 1);
      if (line === "") continue;
      this.lines.push(line);
      if (/^AUTH\b/i.test(line)) this.upgrading = true;
    }
    if (this.lines.length >= MAX_QUEUED && !this.readPaused) {
      this.readPaused = true;
      this.control.pause();
    }
    void this.run();
  }

  /** Answers the waiting lines one after another. */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.lines.length > 0 && !this.closed) {
        const line = this.lines.shift()!;
        if (this.readPaused && this.lines.length < MAX_QUEUED / 2) {
          this.readPaused = false;
          this.control.resume();
        }
        this.touch();
        await this.execute(line);
        this.touch();
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(line: string): Promise<void> {
    const space = line.indexOf(" ");
    const directive = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const arg = space < 0 ? "" : line.slice(space + 1);
    const command = this.options.commands[directive];
    if (this.renameFrom !== null && directive !== "RNTO") this.renameFrom = null;
    if (!command) return this.reply(502, `Command not implemented: ${directive.slice(0, 16)}`);
    if (!command.beforeLogin && !this.loggedIn) {
      return this.reply(530, "Please log in with USER and PASS first");
    }
    try {
      await command.handler(this, arg, directive);
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        this.log.error({ err, directive }, "ftp command failed: database unavailable");
        await this.closeWith(421, "Service not available, try again shortly");
        return;
      }
      this.log.warn({ err, directive }, "ftp command failed");
      await this.reply(451, "Requested action aborted: local error in processing");
    } finally {
      if (directive === "AUTH" && this.upgrading) {
        this.upgrading = false;
        this.takeLines();
      }
    }
  }

  /** The idle timer starts again (after each command; not while a transfer moves data). */
  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.closed || this.transferring || this.options.idleMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.running && !this.transferring) return this.touch();
      void this.closeWith(
        421,
        `No command for ${Math.round(this.options.idleMs / 1000)} s; closing the connection`,
      );
    }, this.options.idleMs);
    this.idleTimer.unref();
  }

  /** A transfer holds the data connection: the control connection's idle timer waits until it is done. */
  transferStarted(): void {
    this.transferring = true;
    this.touch();
  }

  /** After a data command: its data connection closed and the control connection timed again. */
  transferDone(): void {
    this.transferring = false;
    this.data.close();
    this.touch();
  }

  /**
   * AUTH TLS: "234", then the TLS handshake on the same connection; from then on commands are read from
   * the TLS socket only. Bytes that arrived after the AUTH line (a client that did not wait for 234) are
   * the handshake's and go to TLS.
   */
  async startTls(): Promise<void> {
    const plain = this.tcp;
    plain.pause();
    plain.off("data", this.onData);
    await this.reply(234, "AUTH TLS accepted; start the TLS handshake");
    const early = this.buffered;
    this.buffered = Buffer.alloc(0);
    if (early.length > 0) plain.unshift(early);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.options.secureContext });
    carryClient(plain, secure);
    secure.on("error", (err) => {
      this.log.debug({ err }, "control connection's TLS failed");
      plain.destroy();
    });
    secure.on("close", () => this.ended());
    secure.on("data", this.onData);
    this.control = secure;
    this.secure = true;
  }

  /** PASS: checks the password (and bans, and the login's session cap), then opens the file system view. */
  async login(password: string): Promise<void> {
    const username = this.user;
    this.user = null;
    if (username === null) return this.reply(503, "Send USER first");
    const { guard, deps } = this.options;
    const ip = this.clientIp;
    try {
      if (this.options.requireTls && !this.secure) {
        return await this.reply(
          530,
          "TLS is required: connect with FTPS (AUTH TLS), e.g. curl --ssl-reqd or lftp",
        );
      }
      if (await guard.isBanned(ip, username)) return await this.reply(530, "Login incorrect");
      const login = await passwordLogin(deps.db, username, password, "ftp", ip);
      if (!login) {
        await guard.failed(ip, username, "ftp");
        return await this.reply(530, "Login incorrect");
      }
      const slot = await guard.openSession(login);
      if (!slot) {
        return await this.reply(
          530,
          `Too many sessions for this login at once (its limit is ${guard.sessionCap(login)}); try again when one ends`,
        );
      }
      this.slot = slot;
      if (this.closed) return this.releaseSlot();
      await guard.succeeded(ip, username);
      await loginSucceeded(deps.db, login, "password");
      if (this.closed) return;
      this.fs = new FerryFileSystem(new VirtualFs(deps, login), () => this.control);
      for (const handler of this.loggedInHandlers.splice(0)) handler();
      await this.reply(230, "Logged in");
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      // 421: a temporary failure (RFC 959), not "530 Login incorrect"; and no database message to the client.
      this.log.error({ err, ip }, "login failed: database unavailable");
      await this.closeWith(421, "Service not available, try again shortly");
    }
  }

  /** Runs `handler` once the client logged in. */
  onLogin(handler: () => void): void {
    this.loggedInHandlers.push(handler);
  }

  private releaseSlot(): void {
    const slot = this.slot;
    this.slot = null;
    if (slot) void slot.close();
  }

  /** The connection closed: uploads in flight are discarded, the data connection and the login's slot freed. */
  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.lines = [];
    this.fs?.abortOpenUploads();
    this.data.close();
    this.releaseSlot();
    this.tcp.destroy();
    for (const handler of this.closeHandlers.splice(0)) handler();
  }

  /** Closes the connection at once (server shutdown). */
  destroy(): void {
    this.tcp.destroy();
    this.ended();
  }
}

/** Texts of replies sent without one. */
const DEFAULT_TEXT: Record<number, string> = {
  150: "Opening data connection",
  200: "OK",
  226: "Transfer complete",
  425: "No data connection: send PASV or EPSV first, then connect to the port it names",
};

/**
 * A command line's text: Telnet commands (IAC and the byte after it, as in "IAC IP IAC DM ABOR") left out,
 * the CR before the LF dropped, UTF-8 (RFC 2640).
 */
export function commandText(bytes: Buffer): string {
  let clean = bytes;
  if (bytes.includes(0xff)) {
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== 0xff) out.push(bytes[i]!);
      else if (bytes[++i] === 0xff) out.push(0xff);
    }
    clean = Buffer.from(out);
  }
  return clean
    .toString("utf8")
    .replace(/\r$/, "")
    .replace(/[\r\n\0]/g, "");
}
