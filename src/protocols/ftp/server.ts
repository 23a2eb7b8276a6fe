/**
 * The FTP server (ftp-srv): explicit FTPS (AUTH TLS) with TLS required by default, passive mode on a
 * configured port range, password logins against credentials, and the same virtual file system as SFTP.
 */
import type { Socket } from "node:net";
import { FtpSrv } from "ftp-srv";
import type { Logger } from "pino";
import type { LoginGuard } from "../guard.js";
import { loginSucceeded, passwordLogin } from "../logins.js";
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
  idleMs: number;
}

/** "::ffff:127.0.0.1" → "127.0.0.1". */
function plainIp(ip: string | undefined): string {
  return (ip ?? "").replace(/^::ffff:/, "");
}

export async function startFtpServer(
  deps: VfsDeps,
  guard: LoginGuard,
  options: FtpServerOptions,
  parentLog: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  installFtpSrvFixes();
  const log = parentLog.child({ protocol: "ftp" });
  const server = new FtpSrv({
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
    // SITE (chmod and friends) has no meaning here.
    blacklist: ["SITE"],
    log: log as never,
  });

  const onDisconnect = new Map<string, () => void>();
  server.on("login", ({ connection, username, password }, resolve, reject) => {
    const ip = plainIp(connection.ip);
    (async () => {
      if (options.requireTls && !connection.secure) {
        throw new Error("TLS is required: connect with FTPS (AUTH TLS), e.g. curl --ssl-reqd or lftp");
      }
      if (guard.isBanned(ip, username)) throw new Error("Login incorrect");
      const login = await passwordLogin(deps.db, username, password, "ftp", ip);
      if (!login) {
        guard.failed(ip, username);
        throw new Error("Login incorrect");
      }
      if (!guard.openSession(login.credentialId))
        throw new Error("Too many sessions for this login; try later");
      guard.succeeded(username);
      await loginSucceeded(deps.db, login, "password");
      const vfs = new VirtualFs(deps, login);
      // ftp-srv replaces commandSocket with a TLSSocket after AUTH TLS: read it when needed.
      const control = () => (connection as unknown as { commandSocket: Socket }).commandSocket;
      const fs = new FerryFileSystem(vfs, control);
      onDisconnect.set(connection.id, () => {
        fs.abortOpenUploads();
        guard.closeSession(login.credentialId);
      });
      return { fs: fs as never };
    })().then(resolve, (err: Error) => reject(err));
  });
  // ftp-srv connections emit no "close"; the server's "disconnect" is the one signal that a session ended.
  server.on("disconnect", ({ id }) => {
    onDisconnect.get(id)?.();
    onDisconnect.delete(id);
  });
  server.on("client-error", ({ context, error }) => log.debug({ err: error, context }, "ftp client error"));

  await server.listen();
  log.info({ port: options.port }, "ftp server listening");
  return { port: options.port, close: () => server.close() };
}
