/**
 * Fixes to ftp-srv, applied once at start-up, each found by the end-to-end tests or an interop review.
 *
 * 1. AUTH TLS: ftp-srv wrote "234" and only then wrapped the control socket in TLS, so a client's ClientHello
 *    arriving in between was read as plain FTP commands and the handshake failed (curl exit 35, now and then
 *    under load). The socket is now paused before "234" and the TLS wrap reads what is waiting; the command
 *    parser is moved onto the TLS socket, so it never sees ciphertext.
 *
 * 2. A fix for ftp-srv's passive mode over TLS (open upstream: QuorumDMS/ftp-srv#192, #333). ftp-srv marks the
 * data connection ready only after its TLS handshake and sends "150" only then; but RFC 4217 clients such as
 * lftp start the data handshake after reading "150", so both sides waited and the server answered 425.
 * Here the data socket counts as connected as soon as TCP connects: it is wrapped at once in a server-side
 * TLSSocket, which buffers the reply data until the handshake completes. Same address check, port choice and
 * timeouts as ftp-srv's own setupServer, which this replaces. Data connections over TLS go through
 * data-tls.ts (TLS 1.2, and a tap that sees whether the client closed TLS in order).
 *
 * 3. USER before AUTH TLS, when TLS is required: ftp-srv answered 331 and the client then sent its password
 * in clear, to be refused only after. Now 530 at USER, as vsftpd does (force_local_logins_ssl).
 *
 * 5. LIST/NLST built the whole listing in memory, and with ls options ("LIST -la dir": lftp's `ls -la`) looked
 * up a file called "-la dir" (451): listing.ts streams them page by page and drops the options. SITE CHMOD (lftp sends one per file after an upload) is a harmless no-op, other SITE
 * commands 502. RETR answers 426 when the client closes the data connection early (was 551), 550 for a file
 * it cannot open. MLSD and MLST (RFC 3659) list type, size and modification time, as Java's Commons Net
 * mlistDir() needs (it took the 502 for an empty folder).
 *
 * 4. STOR/APPE/STOU: ftp-srv took any end of the data connection for the end of the file and answered 226,
 * and a reset for a 550. An upload whose data connection ends without the TLS close, or is reset, is now
 * discarded and answered 426 (RFC 959: "Connection closed; transfer aborted"), as vsftpd does.
 */
import { createRequire } from "node:module";
import net from "node:net";
import tls from "node:tls";
import { plainIp } from "../admission.js";
import { carryClient, ProxySources, takeProxyHeader } from "../proxy-protocol.js";

const NO_PROXIES = new ProxySources([]);

import { secureDataSocket } from "./data-tls.js";
import { listingCommands } from "./listing.js";
import { mlsxCommands } from "./mlsx.js";
import { retrieve, store } from "./transfers.js";

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: ftp-srv's internals are untyped CommonJS.
const Passive = require("ftp-srv/src/connector/passive.js") as { prototype: any };

const CONNECT_TIMEOUT = 30_000;

let installed = false;

/** ftp-srv's command table: directive → handler, called with the connection as `this`. */
type CommandHandler = (
  this: unknown,
  args: { command?: { arg?: string | null; directive?: string } },
) => unknown;
const registry = require("ftp-srv/src/commands/registry.js") as Record<string, { handler: CommandHandler }>;

export function installFtpSrvFixes(): void {
  if (installed) return;
  installed = true;

  const user = registry.USER!;
  const originalUser = user.handler;
  // biome-ignore lint/suspicious/noExplicitAny: see above.
  user.handler = function userHandler(this: any, args) {
    if (this.server.options.ferryRequireTls && !this.secure) {
      return this.reply(530, "TLS is required: send AUTH TLS before USER (FTPS, e.g. curl --ssl-reqd)");
    }
    return originalUser.call(this, args);
  };

  // Active mode: Ferry would connect out to an address the client names. Off unless FERRY_FTP_ACTIVE_MODE:
  // behind a load balancer or NAT it cannot reach clients anyway, and every client used here works passively.
  for (const directive of ["PORT", "EPRT"]) {
    const command = registry[directive]!;
    const original = command.handler;
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    command.handler = function activeMode(this: any, args) {
      if (!this.server.options.ferryActiveMode)
        return this.reply(502, "Active mode (PORT/EPRT) is off on this server: use passive mode (PASV/EPSV)");
      return original.call(this, args);
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: see above.
  registry.SITE!.handler = function site(this: any, args: { command?: { arg?: string | null } }) {
    const verb = (args.command?.arg ?? "").trim().split(/\s+/)[0]!.toUpperCase();
    if (verb === "CHMOD") return this.reply(200, "SITE CHMOD ignored: permissions have no meaning here");
    return this.reply(502, `SITE ${verb || ""} is not implemented`.trim());
  };
  registry.RETR!.handler = retrieve;
  Object.assign(registry, mlsxCommands(), listingCommands());

  registry.STOR!.handler = store;
  registry.APPE!.handler = store;
  // STOU: a fresh name, then an ordinary STOR (ftp-srv's own STOU called its STOR directly).
  // biome-ignore lint/suspicious/noExplicitAny: see above.
  registry.STOU!.handler = function storeUnique(this: any, args) {
    if (!this.fs) return this.reply(550, "File system not instantiated");
    const command = { ...args.command, arg: this.fs.getUniqueName(args.command?.arg ?? "file") };
    return store.call(this, { ...args, command });
  };

  const auth = registry.AUTH!;
  const originalAuth = auth.handler;
  // biome-ignore lint/suspicious/noExplicitAny: ftp-srv's connection is untyped.
  auth.handler = function authHandler(this: any, args: { command?: { arg?: string | null } }) {
    const isTls = String(args?.command?.arg ?? "").toUpperCase() === "TLS";
    if (!isTls || !this.server.options.tls || this.secure) return originalAuth.call(this, args);
    this.commandSocket.pause();
    return this.reply(234).then(() => {
      const plainSocket = this.commandSocket;
      // ftp-srv's command parser listens for "data" on the plain socket. The TLS socket may read the plain
      // socket through its "data" events too (then ciphertext reached the parser as well: "502 Command not
      // allowed: <binary>", now and then). So the parser moves to the TLS socket and sees only plain text.
      const parsers = plainSocket.listeners("data") as ((...a: unknown[]) => void)[];
      for (const parser of parsers) plainSocket.off("data", parser);
      const secureSocket = new tls.TLSSocket(plainSocket, {
        isServer: true,
        secureContext: tls.createSecureContext(this.server.options.tls),
      });
      for (const parser of parsers) secureSocket.on("data", parser);
      // As ftp-srv does: its other listeners stay on the plain socket, so forward the TLS socket's events there.
      for (const event of ["timeout", "end", "close", "drain", "error"]) {
        secureSocket.on(event, (...eventArgs: unknown[]) => plainSocket.emit(event, ...eventArgs));
      }
      carryClient(plainSocket, secureSocket);
      // The idle timeout stays on the plain socket (ftp-srv set it there): transfers.ts suspends it there.
      this.ferryPlainSocket = plainSocket;
      this.commandSocket = secureSocket;
      this.secure = true;
    });
  };

  // biome-ignore lint/suspicious/noExplicitAny: see above.
  Passive.prototype.setupServer = function setupServer(this: any) {
    this.closeServer();
    return this.server.getNextPasvPort().then((port: number) => {
      this.dataSocket = null;
      let idleServerTimeout: NodeJS.Timeout | undefined;
      const secure = Boolean(this.connection.secure);

      // Behind a balancer the data connection's PROXY header names the client too: compared to the control's.
      const connectionHandler = (raw: net.Socket) =>
        takeProxyHeader(raw, this.server.proxySources ?? NO_PROXIES, (err: Error | null) => {
          if (err)
            return this.log.warn({ err, peer: raw.remoteAddress }, "data connection's PROXY header refused");
          if (secure) raw.resume();
          accept(raw);
        });
      const accept = (raw: net.Socket) => {
        if (plainIp(this.connection.commandSocket.remoteAddress) !== plainIp(raw.remoteAddress)) {
          this.log.error(
            {
              pasv_connection: raw.remoteAddress,
              cmd_connection: this.connection.commandSocket.remoteAddress,
            },
            "Connecting addresses do not match",
          );
          raw.destroy();
          return this.connection
            .reply(550, "Remote addresses do not match")
            .then(() => this.connection.close());
        }
        clearTimeout(idleServerTimeout);
        const socket = secure ? secureDataSocket(raw, this.server.options.tls) : raw;
        this.dataSocket = socket;
        socket.on("error", (err: Error) =>
          this.server?.emit("client-error", {
            connection: this.connection,
            context: "dataSocket",
            error: err,
          }),
        );
        socket.once("close", () => this.closeServer());
        (socket as net.Socket & { connected?: boolean }).connected = true;
      };

      // Plain sockets stay paused until ftp-srv pipes them; a TLSSocket must read to do its handshake (its
      // decrypted data waits in the stream until ftp-srv reads it).
      this.dataServer = net.createServer({ pauseOnConnect: !secure }, connectionHandler);
      this.dataServer.maxConnections = 1;
      this.dataServer.on("error", (err: Error) =>
        this.server?.emit("client-error", { connection: this.connection, context: "dataServer", error: err }),
      );
      this.dataServer.once("close", () => {
        this.log.trace("Passive server closed");
        this.end();
      });
      return new Promise((resolve, reject) => {
        this.dataServer.listen(port, this.server.url.hostname, (err?: Error) => {
          if (err) return reject(err);
          idleServerTimeout = setTimeout(() => this.closeServer(), CONNECT_TIMEOUT);
          this.log.debug({ port }, "Passive connection listening");
          resolve(this.dataServer);
        });
      });
    });
  };
}
