/**
 * Ferry as an SFTP client of a customer's server (ssh2): log in with a password or the account's key, check
 * the server's host key against the pinned fingerprint, list a folder, read and remove files. Failures are
 * RemoteErrors whose code says what went wrong in words a user can act on.
 */
import { createHash } from "node:crypto";
import ssh2, { type SFTPWrapper } from "ssh2";
import { RemoteError, type RemoteSession } from "../../pipeline/remote.js";
import { NETWORK_CODES } from "./network.js";

export type SftpSession = RemoteSession;

export interface SftpLogin {
  host: string;
  port: number;
  username: string;
  password?: string | undefined;
  privateKey?: string | undefined;
  /** The pinned host key fingerprint (`SHA256:…`); any key is accepted (and reported) when unset. */
  hostKeyFingerprint?: string | undefined;
  timeoutMs?: number | undefined;
}

/** OpenSSH's form of a host key fingerprint: `SHA256:` and unpadded base64. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** Logs in and opens the SFTP subsystem. */
export function connectSftp(login: SftpLogin): Promise<SftpSession> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let seen = "";
    let settled = false;
    const fail = (err: RemoteError) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(err);
    };
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (login.hostKeyFingerprint && seen && seen !== login.hostKeyFingerprint) {
        fail(
          new RemoteError(
            "HOST_KEY_MISMATCH",
            `the server presented ${seen}, the connection expects ${login.hostKeyFingerprint}; accept the new key only if its owner confirms the change`,
          ),
        );
      } else if (err.level === "client-authentication") {
        fail(new RemoteError("AUTH_FAILED", `the server refused the login of "${login.username}"`));
      } else if (err.level === "client-timeout" || (err.code && NETWORK_CODES.has(err.code))) {
        fail(new RemoteError("UNREACHABLE", `${login.host}:${login.port} (${err.code ?? err.message})`));
      } else {
        fail(new RemoteError("FAILED", err.message));
      }
    });
    client.on("close", () => fail(new RemoteError("DISCONNECTED", "the connection closed before the login")));
    client.on("ready", () => {
      client.sftp((err, sftp) => {
        if (err) return fail(new RemoteError("FAILED", `the server offers no SFTP: ${err.message}`));
        settled = true;
        resolve(session(client, sftp, seen));
      });
    });
    client.connect({
      host: login.host,
      port: login.port,
      username: login.username,
      ...(login.privateKey ? { privateKey: login.privateKey } : { password: login.password ?? "" }),
      readyTimeout: login.timeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      hostVerifier: (key: Buffer) => {
        seen = hostKeyFingerprint(key);
        return !login.hostKeyFingerprint || seen === login.hostKeyFingerprint;
      },
    });
  });
}

/** An SFTP status error as a RemoteError (2: no such file). */
function sftpError(err: Error & { code?: number }, what: string): RemoteError {
  if (err.code === 2) return new RemoteError("FOLDER_MISSING", `${what} does not exist on the server`);
  if (err.code === 3) return new RemoteError("PERMISSION_DENIED", `the login may not read or change ${what}`);
  if (err.message === "No response from server" || /closed|ECONNRESET/i.test(err.message))
    return new RemoteError("DISCONNECTED", `while reading ${what}`);
  return new RemoteError("FAILED", `${what}: ${err.message}`);
}

function session(client: ssh2.Client, sftp: SFTPWrapper, hostKey: string): SftpSession {
  const call = <T>(what: string, fn: (cb: (err: Error | null | undefined, v: T) => void) => void) =>
    new Promise<T>((resolve, reject) =>
      fn((err, v) => (err ? reject(sftpError(err as Error & { code?: number }, what)) : resolve(v))),
    );
  let closed = false;
  client.on("close", () => {
    closed = true;
  });
  return {
    hostKey,
    async list(folder) {
      const entries = await call<ssh2.FileEntryWithStats[]>(`the folder ${folder}`, (cb) =>
        sftp.readdir(folder, cb),
      );
      return entries
        .filter((e) => e.attrs.isFile())
        .map((e) => ({
          name: e.filename,
          path: `${folder.replace(/\/+$/, "")}/${e.filename}`,
          size: e.attrs.size,
          mtime: new Date(e.attrs.mtime * 1000),
        }));
    },
    async stat(path) {
      const s = await call<ssh2.Stats>(path, (cb) => sftp.stat(path, cb));
      return { size: s.size, mtime: new Date(s.mtime * 1000) };
    },
    async download(path, sink) {
      const stream = sftp.createReadStream(path, { highWaterMark: 256 * 1024 });
      let total = 0;
      try {
        for await (const chunk of stream) {
          await sink(chunk as Buffer);
          total += (chunk as Buffer).length;
        }
      } catch (err) {
        throw closed
          ? new RemoteError("DISCONNECTED", `while downloading ${path}`)
          : sftpError(err as Error, path);
      }
      if (closed) throw new RemoteError("DISCONNECTED", `while downloading ${path}`);
      return total;
    },
    async remove(path) {
      await call<void>(path, (cb) => sftp.unlink(path, cb));
    },
    async upload(path, source) {
      const slash = path.lastIndexOf("/");
      const temp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.ferry-part`;
      const out = sftp.createWriteStream(temp);
      const done = new Promise<void>((resolve, reject) => {
        out.on("close", resolve);
        out.on("error", (err: Error) => reject(sftpError(err, path.slice(0, slash) || "/")));
      });
      try {
        for await (const chunk of source) {
          if (!out.write(chunk)) await new Promise((r) => out.once("drain", r));
        }
        out.end();
        await done;
      } catch (err) {
        out.destroy();
        throw err instanceof RemoteError ? err : sftpError(err as Error, path);
      }
      // POSIX rename (OpenSSH's extension) replaces an existing file; plain SFTP rename does not.
      try {
        await call<void>(path, (cb) => sftp.ext_openssh_rename(temp, path, cb));
      } catch {
        await call<void>(path, (cb) => sftp.unlink(path, () => cb(null, undefined)));
        await call<void>(path, (cb) => sftp.rename(temp, path, cb));
      }
    },
    close() {
      client.end();
    },
  };
}
