/**
 * Ferry's FTP server, written here over node:net and node:tls (the decision against ftp-srv is in
 * docs/architecture.md): explicit FTPS (AUTH TLS, RFC 4217) with TLS required by default, passive mode on a
 * configured port range, password logins against credentials, and the same virtual file system as SFTP.
 * session.ts is one control connection; this module accepts them: PROXY header (behind a balancer), the
 * admission's caps and login grace period, the greeting, and closing everything at shutdown.
 */
import net from "node:net";
import tls from "node:tls";
import type { Logger } from "pino";
import type { LoginGuard } from "../../domain/login-guard.js";
import { type Admission, plainIp } from "../admission.js";
import { type ProxySources, takeProxyHeader } from "../proxy-protocol.js";
import type { VfsDeps } from "../vfs.js";
import { commands } from "./commands.js";
import { PassivePorts } from "./data-channel.js";
import { FtpSession } from "./session.js";

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

export async function startFtpServer(
  deps: VfsDeps,
  guard: LoginGuard,
  options: FtpServerOptions,
  parentLog: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const log = parentLog.child({ protocol: "ftp" });
  const tlsOptions: tls.SecureContextOptions = { ...options.tls, minVersion: "TLSv1.2" };
  const sessionOptions = {
    commands,
    deps,
    guard,
    tls: tlsOptions,
    secureContext: tls.createSecureContext(tlsOptions),
    requireTls: options.requireTls,
    activeMode: options.activeMode ?? false,
    idleMs: options.idleMs,
    passiveAddress: options.passiveAddress,
    ports: new PassivePorts(options.passivePorts, options.bind),
    proxySources: options.proxySources,
    log,
  };
  const greeting = [
    "Ferry FTP server",
    ...(options.requireTls ? ["TLS is required: use FTPS (AUTH TLS)"] : []),
  ];
  const sessions = new Set<FtpSession>();

  const start = (socket: net.Socket) => {
    const ip = plainIp(socket.remoteAddress);
    let session: FtpSession | null = null;
    const pre = options.admission.admit(ip, () => {
      void session?.closeWith(421, "Login time is over; connect again and log in");
    });
    if ("refused" in pre) {
      // No session: nothing the client sent is read as a command.
      log.warn({ ip, reason: pre.refused }, "connection refused before login");
      socket.end(`421 Service not available: ${pre.refused}\r\n`);
      socket.resume();
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    session = new FtpSession(socket, sessionOptions);
    sessions.add(session);
    session.onLogin(() => pre.loggedIn());
    session.onClose(() => {
      pre.closed();
      sessions.delete(session);
    });
    session.start(greeting);
  };

  // Sockets start paused: a balancer's PROXY header is read first, and commands only after the greeting.
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    socket.on("error", () => {});
    takeProxyHeader(socket, options.proxySources, (err) => {
      if (err) return log.warn({ err, peer: socket.remoteAddress }, "PROXY header refused");
      start(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.bind, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.error({ err }, "ftp server failed"));
  const port = (server.address() as net.AddressInfo).port;
  log.info({ port }, "ftp server listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}
