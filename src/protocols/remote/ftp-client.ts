/**
 * Ferry as an FTP/FTPS client of a customer's server (basic-ftp): explicit FTPS (AUTH TLS) by default,
 * implicit FTPS, or plain FTP only when the connection says so. The server's certificate (self-signed on most
 * such servers) is pinned like an SSH host key: its SHA-256 fingerprint is recorded at the first connection,
 * and a different certificate stops the connection before the password is sent.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { Writable } from "node:stream";
import type { TLSSocket } from "node:tls";
import { Client, FTPError } from "basic-ftp";
import { RemoteError, type RemoteFile, type RemoteSession } from "../../pipeline/remote.js";
import { NETWORK_CODES } from "./network.js";

export interface FtpLogin {
  /** Address (or name) connected to. */
  host: string;
  /** The server's name for TLS (SNI), when `host` is the address it was resolved to. */
  servername?: string | undefined;
  port: number;
  username: string;
  password: string;
  security: "explicit" | "implicit" | "none";
  /** The pinned certificate fingerprint (`SHA256:…`); any certificate is accepted (and reported) when unset. */
  hostKeyFingerprint?: string | undefined;
  timeoutMs?: number | undefined;
}

function certificateFingerprint(socket: TLSSocket): string {
  const der = socket.getPeerCertificate().raw;
  return der ? `SHA256:${createHash("sha256").update(der).digest("base64").replace(/=+$/, "")}` : "";
}

/** An error of basic-ftp or of the network as a RemoteError. */
function ftpError(err: unknown, what: string): RemoteError {
  if (err instanceof RemoteError) return err;
  const e = err as Error & { code?: string | number };
  if (err instanceof FTPError) {
    if (e.code === 530) return new RemoteError("AUTH_FAILED", `the server refused the login (${e.message})`);
    if (e.code === 550) return new RemoteError("FOLDER_MISSING", `${what}: ${e.message}`);
    if (e.code === 553 || e.code === 532)
      return new RemoteError("PERMISSION_DENIED", `${what}: ${e.message}`);
    return new RemoteError("FAILED", `${what}: ${e.message}`);
  }
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return new RemoteError("UNREACHABLE", e.code);
  if (/TLS|SSL|certificate|EPROTO/i.test(`${e.code ?? ""} ${e.message}`))
    return new RemoteError("TLS_ERROR", e.message);
  if (/Timeout/i.test(e.message)) return new RemoteError("UNREACHABLE", e.message);
  if (/closed|ended/i.test(e.message)) return new RemoteError("DISCONNECTED", `${what}: ${e.message}`);
  return new RemoteError("FAILED", `${what}: ${e.message}`);
}

export async function connectFtp(login: FtpLogin): Promise<RemoteSession> {
  const client = new Client(login.timeoutMs ?? 20_000);
  let hostKey = "";
  try {
    // Checked below, before logging in: the pinned fingerprint (servers' certificates are mostly self-signed).
    const name = login.servername ?? (net.isIP(login.host) ? undefined : login.host);
    const tls = { rejectUnauthorized: false, ...(name ? { servername: name } : {}) };
    if (login.security === "implicit") await client.connectImplicitTLS(login.host, login.port, tls);
    else await client.connect(login.host, login.port);
    if (login.security === "explicit") {
      try {
        await client.useTLS(tls);
      } catch (err) {
        if (err instanceof FTPError)
          throw new RemoteError(
            "TLS_ERROR",
            `the server does not offer FTPS (AUTH TLS: ${err.code} ${err.message})`,
          );
        throw err;
      }
    }
    // The certificate is checked before the password is sent.
    if (login.security !== "none") {
      const socket = client.ftp.socket as TLSSocket;
      hostKey = certificateFingerprint(socket);
      const pinned = login.hostKeyFingerprint;
      if (pinned ? pinned !== hostKey : false) {
        throw new RemoteError(
          "TLS_ERROR",
          `the server presented the certificate ${hostKey}, the connection expects ${pinned}; accept the new one only if its owner confirms the change`,
        );
      }
    }
    await client.login(login.username, login.password);
    await client.useDefaultSettings();
  } catch (err) {
    client.close();
    throw ftpError(err, `${login.host}:${login.port}`);
  }
  const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw ftpError(err, what);
    }
  };
  const mtimeOf = async (path: string, fallback?: Date) => {
    try {
      return await client.lastMod(path);
    } catch {
      return fallback ?? new Date(0);
    }
  };
  return {
    hostKey,
    async list(folder) {
      const entries = await run(`the folder ${folder}`, () => client.list(folder));
      const files: RemoteFile[] = [];
      for (const e of entries.filter((x) => x.isFile)) {
        const path = `${folder.replace(/\/+$/, "")}/${e.name}`;
        files.push({ name: e.name, path, size: e.size, mtime: await mtimeOf(path, e.modifiedAt) });
      }
      return files;
    },
    async stat(path) {
      const size = await run(path, () => client.size(path));
      return { size, mtime: await mtimeOf(path) };
    },
    async download(path, sink) {
      let total = 0;
      const out = new Writable({
        write(chunk: Buffer, _enc, done) {
          total += chunk.length;
          sink(chunk).then(() => done(), done);
        },
      });
      await run(path, () => client.downloadTo(out, path));
      return total;
    },
    async remove(path) {
      await run(path, () => client.remove(path));
    },
    async upload(path, source) {
      const slash = path.lastIndexOf("/");
      const temp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.ferry-part`;
      const { Readable } = await import("node:stream");
      await run(path, () => client.uploadFrom(Readable.from(source), temp));
      await run(path, () => client.rename(temp, path));
    },
    close() {
      client.close();
    },
  };
}
