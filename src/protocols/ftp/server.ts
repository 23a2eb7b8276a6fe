/**
 * The FTP server (ftp-srv): explicit FTPS (AUTH TLS) with TLS required by default, passive mode on a
 * configured port range, password logins against credentials, and the same virtual file system as SFTP.
 */
import type net from "node:net";
import type { Socket } from "node:net";
import { FtpSrv } from "ftp-srv";
import type { Logger } from "pino";
import { isDatabaseUnavailable } from "../../db/pool.js";
import type { LoginGuard } from "../../domain/login-guard.js";
import { type Admission, type PreAuth, plainIp } from "../admission.js";
import { loginSucceeded, passwordLogin } from "../logins.js";
import { type ProxySources, takeProxyHeader } from "../proxy-protocol.js";
import { type VfsDeps, VirtualFs } from "../vfs.js";
import { FerryFileSystem } from "./filesystem.js";
import { installFtpSrvFixes } from "./ftp-srv-fixes.js";

export interface FtpServerOptions {
  port: number;
  bind: string;
  /** Address given to clients in PASV answers. */
  passiveAddress: string;
  passivePorts: [number, number];
  tls: { cert: Buffer; key: Buffer };
  /** Refuse logins before AUTH TLS. */
  requireTls: boolean;
  /** Allow active mode (PORT/EPRT: Ferry connects to the client). Off by default. */
  activeMode?: boolean;
  idleMs: number;
  /** Caps and grace period of connections not logged in yet. */
  admission: Admission;
  /** Load balancers whose connections (control and data) start with a PROXY header naming the client. */
  proxySources: ProxySources;
}

/** What the fixes in ftp-srv-fixes.ts read from ftp-srv's options. */
export interface FerryFtpOptions {
  /** Answer USER with 530 before AUTH TLS, so no password is ever sent in clear. */
  ferryRequireTls: boolean;
  /** Accept PORT and EPRT (otherwise 502, naming passive mode). */
  ferryActiveMode: boolean;
}

export async function startFtpServer(
  deps: VfsDeps,
  guard: LoginGuard,
  options: FtpServerOptions,
  parentLog: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  installFtpSrvFixes();
  const log = parentLog.child({ protocol: "ftp" });
  // ftp-srv logs every command line at trace level, PASS with its password: it never logs below debug.
  const ftpSrvLog = clientErrorsAsInfo(
    log.child({}, { level: log.isLevelEnabled("debug") ? "debug" : log.level }),
  );
  const ferryOptions: FerryFtpOptions = {
    ferryRequireTls: options.requireTls,
    ferryActiveMode: options.activeMode ?? false,
  };
  // ftp-srv's constructor hooks SIGTERM/SIGINT/SIGQUIT to close itself and process.exit(0) 100 ms later,
  // behind the back of Ferry's own shutdown (which then never stopped its embedded PostgreSQL): unhooked below.
  const signals = ["SIGTERM", "SIGINT", "SIGQUIT"] as const;
  const hooked = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const server = new FtpSrv({
    ...(ferryOptions as object),
    url: `ftp://${options.bind}:${options.port}`,
    pasv_url: options.passiveAddress,
    pasv_min: options.passivePorts[0],
    pasv_max: options.passivePorts[1],
    tls: { cert: options.tls.cert, key: options.tls.key, minVersion: "TLSv1.2" },
    anonymous: false,
    greeting: ["Ferry FTP server", options.requireTls ? "TLS is required: use FTPS (AUTH TLS)" : ""].filter(
      Boolean,
    ),
    timeout: options.idleMs,
    log: ftpSrvLog as never,
  });
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!hooked.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }

  // Behind a balancer: the PROXY header is read before ftp-srv greets the client (and its passive data
  // connections read theirs, ftp-srv-fixes.ts).
  const ftpInternals = server as unknown as { server: net.Server; proxySources: ProxySources };
  ftpInternals.proxySources = options.proxySources;
  const greet = ftpInternals.server.listeners("connection") as ((socket: net.Socket) => void)[];
  ftpInternals.server.removeAllListeners("connection");
  ftpInternals.server.on("connection", (socket: net.Socket) =>
    takeProxyHeader(socket, options.proxySources, (err) => {
      if (err) return log.warn({ err, peer: socket.remoteAddress }, "PROXY header refused");
      for (const listener of greet) listener(socket);
    }),
  );

  const waiting = new Map<string, PreAuth>();
  // ftp-srv's typings lack its "connect" event (emitted before the greeting).
  type Connecting = {
    connection: { ip?: string; close(code: number, message: string): Promise<unknown> };
    id: string;
  };
  (server as unknown as NodeJS.EventEmitter).on("connect", ({ connection, id }: Connecting) => {
    const ip = plainIp(connection.ip);
    const pre = options.admission.admit(ip, () => {
      void connection.close(421, "Login time is over; connect again and log in");
    });
    if ("refused" in pre) {
      log.warn({ ip, reason: pre.refused }, "connection refused before login");
      void connection.close(421, `Service not available: ${pre.refused}`);
      return;
    }
    waiting.set(id, pre);
  });

  const onDisconnect = new Map<string, () => void>();
  server.on("login", ({ connection, username, password }, resolve, reject) => {
    const ip = plainIp(connection.ip);
    (async () => {
      if (options.requireTls && !connection.secure) {
        throw new Error("TLS is required: connect with FTPS (AUTH TLS), e.g. curl --ssl-reqd or lftp");
      }
      if (await guard.isBanned(ip, username)) throw new Error("Login incorrect");
      const login = await passwordLogin(deps.db, username, password, "ftp", ip);
      if (!login) {
        await guard.failed(ip, username, "ftp");
        throw new Error("Login incorrect");
      }
      const slot = await guard.openSession(login);
      if (!slot)
        throw new Error(
          `Too many sessions for this login at once (its limit is ${guard.sessionCap(login)}); try again when one ends`,
        );
      // The slot is given back at disconnect, which may come while the lines below wait for the database.
      // ftp-srv replaces commandSocket with a TLSSocket after AUTH TLS: read it when needed.
      const control = () => (connection as unknown as { commandSocket: Socket }).commandSocket;
      let fs: FerryFileSystem | undefined;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        fs?.abortOpenUploads();
        void slot.close();
      };
      onDisconnect.set(connection.id, release);
      await guard.succeeded(ip, username);
      await loginSucceeded(deps.db, login, "password");
      if (control().destroyed) {
        release();
        throw new Error("The connection closed during login");
      }
      fs = new FerryFileSystem(new VirtualFs(deps, login), control);
      waiting.get(connection.id)?.loggedIn();
      return { fs: fs as never };
    })().then(resolve, (err: Error) => {
      if (isDatabaseUnavailable(err)) {
        // 421: a temporary failure (RFC 959), not "530 Login incorrect"; and no database message to the client.
        log.error({ err, ip }, "login failed: database unavailable");
        void (connection as unknown as { close(code: number, m: string): Promise<void> }).close(
          421,
          "Service not available, try again shortly",
        );
        return reject(new Error("Service not available, try again shortly"));
      }
      reject(err);
    });
  });
  // ftp-srv connections emit no "close"; the server's "disconnect" is the one signal that a session ended.
  server.on("disconnect", ({ id }) => {
    onDisconnect.get(id)?.();
    onDisconnect.delete(id);
    waiting.get(id)?.closed();
    waiting.delete(id);
  });
  server.on("client-error", ({ context, error }) => log.debug({ err: error, context }, "ftp client error"));

  await server.listen();
  log.info({ port: options.port }, "ftp server listening");
  return { port: options.port, close: () => server.close() };
}

/**
 * ftp-srv logs at error level what one client did or suffered: a refused command (no such file, a folder it
 * may not make), a reply to a socket the client already closed ("Satisfy Parameters Error", at the end of
 * many sessions). Those are no server errors: they go to the log at info. Ferry's own failures are logged by
 * its own code.
 */
function clientErrorsAsInfo<L extends Pick<Logger, "info" | "child">>(logger: L): L {
  return new Proxy(logger, {
    get(target, key, receiver) {
      if (key === "error") return target.info.bind(target);
      if (key === "child")
        return (bindings: Record<string, unknown>) =>
          clientErrorsAsInfo(target.child(bindings) as unknown as L);
      return Reflect.get(target, key, receiver);
    },
  });
}
