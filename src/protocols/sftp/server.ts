/** The SFTP server: SSH with password and public-key logins against credentials, serving the virtual file system. */
import net, { type AddressInfo } from "node:net";
import type { Logger } from "pino";
import ssh2, { type Connection } from "ssh2";
import type { LoginGuard, SessionSlot } from "../../domain/login-guard.js";
import type { Admission, PreAuth } from "../admission.js";
import { loginSucceeded, passwordLogin, publicKeyCandidate } from "../logins.js";
import { carryClient, type ProxySources, takeProxyHeader } from "../proxy-protocol.js";
import { type Login, type VfsDeps, VirtualFs } from "../vfs.js";
import { serveSftp } from "./session.js";
import { DISCONNECT, disconnectWith, offerNoSha1HostKey } from "./ssh2-protocol.js";

/** SSH session channels per connection, as OpenSSH's MaxSessions (10): one connection may not open thousands. */
export const MAX_CHANNELS_PER_CONNECTION = 10;

import { installSsh2Fixes, markServerConnection } from "./ssh2/index.js";
import { SSH2_VERSION } from "./ssh2/internals.js";
import { adoptSocket, shareReads } from "./ssh2/reads.js";

/**
 * Modern algorithms only: no SHA-1 (kex, MACs, ssh-rsa signatures), no CBC, no 3DES. Orders follow OpenSSH's
 * preferences; AES-GCM first because it is the fastest here (AES-NI in OpenSSL).
 */
export const ALGORITHMS = {
  kex: [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
  ],
  cipher: [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
  ],
  hmac: ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"],
  // ECDSA for old clients (JSch 0.1.5x knows RSA only with SHA-1, which is not offered: ssh2-protocol.ts).
  serverHostKey: ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"],
  compress: ["none"],
};

export interface SftpServerOptions {
  hostKeys: Buffer[];
  port: number;
  bind: string;
  /** Sessions idle this long are closed. */
  idleMs: number;
  /** Caps and grace period of connections not logged in yet. */
  admission: Admission;
  /** Load balancers whose connections start with a PROXY header naming the client. */
  proxySources: ProxySources;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export async function startSftpServer(
  deps: VfsDeps,
  guard: LoginGuard,
  options: SftpServerOptions,
  log: Logger,
): Promise<RunningServer> {
  const fixes = installSsh2Fixes();
  if (!fixes.applied)
    log.warn(
      { ssh2: fixes.version, expected: SSH2_VERSION },
      "ssh2 is not the release Ferry's SFTP fixes follow: running on ssh2's own code paths (more garbage per transfer)",
    );
  else if (!fixes.fastPath)
    log.warn(
      { ssh2: fixes.version },
      "ssh2's OpenSSL binding is missing (its install script did not run): SFTP runs without the fast path",
    );
  else log.debug({ ssh2: fixes.version }, "ssh2 fixes applied, fast path on");
  const clients = new Set<Connection>();
  /** Admitted connections by "ip|port", until they log in or close. */
  const waiting = new Map<string, PreAuth>();
  const server = new ssh2.Server(
    { hostKeys: options.hostKeys, algorithms: ALGORITHMS as never, ident: "Ferry" },
    (client, info) => {
      markServerConnection(client);
      offerNoSha1HostKey(client);
      clients.add(client);
      client.on("close", () => clients.delete(client));
      const pre = waiting.get(`${info.ip}|${info.port}`);
      client.once("ready", () => pre?.loggedIn());
      handleClient(client, info.ip, deps, guard, options, log);
    },
  );
  server.on("error", (err: Error) => log.error({ err }, "sftp server error"));
  // Ferry owns the TCP listener to set TCP_NODELAY: SFTP answers each 32 KiB write with a tiny status packet,
  // and Nagle's algorithm held those back behind delayed ACKs (uploads ran at ~60 MB/s with the server idle).
  // It also chooses the buffers sockets read into (ssh2/reads.ts): paused on accept, taken over there.
  const listener = net.createServer(
    { noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000, pauseOnConnect: true },
    (accepted) =>
      takeProxyHeader(accepted, options.proxySources, (err) => {
        if (err)
          return log.warn({ protocol: "sftp", peer: accepted.remoteAddress, err }, "PROXY header refused");
        const ip = accepted.remoteAddress ?? "";
        const key = `${ip}|${accepted.remotePort}`;
        // Before the SSH banner: a client that never sends one, or never logs in, is cut at the grace period.
        let adopted: net.Socket | undefined;
        const pre = options.admission.admit(ip, () => adopted?.destroy());
        if ("refused" in pre) {
          log.warn({ protocol: "sftp", ip, reason: pre.refused }, "connection refused before login");
          accepted.destroy();
          return;
        }
        // adoptSocket may move the connection to a new socket object: watch that one.
        adopted = adoptSocket(accepted);
        if (adopted !== accepted) carryClient(accepted, adopted);
        waiting.set(key, pre);
        adopted.once("close", () => {
          pre.closed();
          waiting.delete(key);
        });
        server.injectSocket(adopted);
      }),
  );
  listener.on("error", (err) => log.error({ err }, "sftp listener error"));
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(options.port, options.bind, () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;
  log.info({ port }, "sftp server listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        listener.close(() => resolve());
        // Connected clients would hold close() open; end them.
        for (const c of clients) c.end();
      }),
  };
}

function handleClient(
  client: Connection,
  ip: string,
  deps: VfsDeps,
  guard: LoginGuard,
  options: SftpServerOptions,
  parentLog: Logger,
): void {
  let log = parentLog.child({ protocol: "sftp", ip });
  let login: Login | undefined;
  let slot: SessionSlot | undefined;
  let closed = false;
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      log.info("idle timeout; closing session");
      client.end();
    }, options.idleMs);
  };
  touch();

  client.on("authentication", (ctx) => {
    touch();
    const accept = async (l: Login, method: string) => {
      const opened = await guard.openSession(l);
      if (!opened) {
        // Not an authentication failure (the password or key was right): say what it is.
        log.warn({ username: l.username }, "too many concurrent sessions for this credential");
        return disconnectWith(
          client,
          DISCONNECT.TOO_MANY_CONNECTIONS,
          `Too many sessions for this login at once (its limit is ${guard.sessionCap(l)}); try again when one ends, or raise the credential's maxSessions`,
        );
      }
      // The connection may have closed while the slot was taken: then it goes back at once.
      if (closed) return void opened.close();
      slot = opened;
      login = l;
      log = log.child({ username: l.username, credentialId: l.credentialId, accountId: l.accountId });
      await guard.succeeded(ip, l.username);
      await loginSucceeded(deps.db, l, method);
      ctx.accept();
    };
    const refuse = async () => {
      await guard.failed(ip, ctx.username, "sftp");
      ctx.reject(["password", "publickey"]);
    };
    (async () => {
      if (ctx.method === "none") return ctx.reject(["password", "publickey"]);
      if (await guard.isBanned(ip, ctx.username)) {
        log.warn({ username: ctx.username }, "login refused: temporarily banned after repeated failures");
        return ctx.reject(["password", "publickey"]);
      }
      if (ctx.method === "password") {
        const l = await passwordLogin(deps.db, ctx.username, ctx.password, "sftp", ip);
        return l ? accept(l, "password") : refuse();
      }
      if (ctx.method === "publickey") {
        // The "ssh-rsa" signature algorithm is RSA with SHA-1 (RFC 8332): refused, so that clients sign with
        // rsa-sha2-256/512 and the same key (OpenSSH does by default since 8.8). ssh2 names the hash here.
        const sha2 = ctx.hashAlgo === "sha256" || ctx.hashAlgo === "sha512";
        if (ctx.key.algo === "ssh-rsa" && !sha2) return ctx.reject(["password", "publickey"]);
        const found = await publicKeyCandidate(deps.db, ctx.username, ctx.key.data, "sftp", ip);
        // A key that is not the credential's is no failure: clients offer their keys in turn.
        if (!found) return ctx.reject(["password", "publickey"]);
        // RFC 4252 §7: without a signature the client only asks whether this key would do.
        if (!ctx.signature) return ctx.accept();
        const key = ssh2.utils.parseKey(found.publicKey);
        if (key instanceof Error || !key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) return refuse();
        return accept(found.login, "publickey");
      }
      return ctx.reject(["password", "publickey"]);
    })().catch((err) => {
      // Not the client's fault (the database is down, most likely): close the connection rather than say
      // "Permission denied", which would send the user looking for a wrong password.
      log.error({ err }, "authentication failed with an error; connection closed");
      disconnectWith(
        client,
        DISCONNECT.SERVICE_NOT_AVAILABLE,
        "Ferry cannot check logins right now; try again shortly",
      );
    });
  });

  let channels = 0;
  client.on("ready", () => {
    client.on("session", (acceptSession, rejectSession) => {
      if (channels >= MAX_CHANNELS_PER_CONNECTION) {
        log.warn({ channels }, "session channel refused: too many on this connection");
        return rejectSession();
      }
      channels++;
      const session = acceptSession();
      session.on("close", () => channels--);
      session.on("sftp", (acceptSftp) => {
        if (!login) return;
        const credentialId = login.credentialId;
        const budget = {
          take: () => guard.takeHandle(credentialId),
          release: () => guard.releaseHandle(credentialId),
        };
        serveSftp(acceptSftp(), new VirtualFs(deps, login), log, touch, budget);
        shareReads(client);
      });
      // Only the SFTP subsystem (scp in OpenSSH ≥ 9 uses it too): no shell, no exec, no forwarding.
      session.on("exec", (_accept, reject) => reject());
      session.on("shell", (_accept, reject) => reject());
      session.on("pty", (_accept, reject) => reject?.());
    });
  });

  client.on("error", (err) => log.debug({ err }, "client connection error"));
  client.on("close", () => {
    closed = true;
    clearTimeout(idle);
    void slot?.close();
  });
}
