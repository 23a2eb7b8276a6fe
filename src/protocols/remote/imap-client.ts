/**
 * Ferry as an IMAP client of a customer's mailbox (imapflow): the attachments of messages not yet taken are
 * the "files"; a message is marked taken (the keyword $FerryTaken) once all its matching attachments are
 * received, so none is taken twice. Over TLS (993) the server's certificate is pinned like an SSH host key and
 * checked before the password is sent.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { ImapFlow, type MessageStructureObject } from "imapflow";
import { RemoteError, type RemoteFile, type RemoteSession } from "../../pipeline/remote.js";
import { NETWORK_CODES } from "./network.js";

export const TAKEN_KEYWORD = "$FerryTaken";

export interface ImapLogin {
  /** Address (or name) connected to. */
  host: string;
  /** The server's name for TLS (SNI), when `host` is the address it was resolved to. */
  servername?: string | undefined;
  port: number;
  tls: boolean;
  username: string;
  password: string;
  mailbox: string;
  hostKeyFingerprint?: string | undefined;
  timeoutMs?: number | undefined;
}

export interface ImapSession extends RemoteSession {
  /** Marks every listed message taken (call once its attachments are all received). */
  finish(): Promise<void>;
}

/** The TLS server name (SNI) for a login, if it has one. */
function serverName(login: ImapLogin): { servername?: string } {
  const name = login.servername ?? (net.isIP(login.host) ? undefined : login.host);
  return name ? { servername: name } : {};
}

/** The SHA-256 fingerprint of the server's TLS certificate, read on a connection of its own. */
function certificateOf(login: ImapLogin): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: login.host,
      port: login.port,
      rejectUnauthorized: false,
      ...serverName(login),
      timeout: login.timeoutMs ?? 20_000,
    });
    socket.once("secureConnect", () => {
      const der = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(`SHA256:${createHash("sha256").update(der).digest("base64").replace(/=+$/, "")}`);
    });
    socket.once("timeout", () => {
      socket.destroy();
      reject(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" }));
    });
    socket.once("error", reject);
  });
}

function imapError(err: unknown, login: ImapLogin): RemoteError {
  if (err instanceof RemoteError) return err;
  const e = err as Error & { code?: string; authenticationFailed?: boolean; responseText?: string };
  if (e.authenticationFailed)
    return new RemoteError("AUTH_FAILED", `the server refused the login of "${login.username}"`);
  if (e.code && NETWORK_CODES.has(e.code))
    return new RemoteError("UNREACHABLE", `${login.host}:${login.port} (${e.code})`);
  if (/TLS|SSL|certificate|EPROTO/i.test(`${e.code ?? ""} ${e.message}`))
    return new RemoteError("TLS_ERROR", e.message);
  return new RemoteError("FAILED", e.responseText ?? e.message);
}

/** The parts of a message that carry a file name (attachments), depth first. */
function attachments(
  node: MessageStructureObject | undefined,
  out: { part: string; name: string; size: number }[] = [],
) {
  if (!node) return out;
  const name = node.dispositionParameters?.filename ?? node.parameters?.name;
  if (name && node.part) out.push({ part: node.part, name, size: node.size ?? 0 });
  for (const child of node.childNodes ?? []) attachments(child, out);
  return out;
}

export async function connectImap(login: ImapLogin): Promise<ImapSession> {
  let hostKey = "";
  if (login.tls) {
    try {
      hostKey = await certificateOf(login);
    } catch (err) {
      throw imapError(err, login);
    }
    if (login.hostKeyFingerprint && login.hostKeyFingerprint !== hostKey) {
      throw new RemoteError(
        "TLS_ERROR",
        `the server presented the certificate ${hostKey}, the connection expects ${login.hostKeyFingerprint}; accept the new one only if its owner confirms the change`,
      );
    }
  }
  const client = new ImapFlow({
    host: login.host,
    port: login.port,
    secure: login.tls,
    auth: { user: login.username, pass: login.password },
    logger: false,
    tls: { rejectUnauthorized: false, ...serverName(login) },
    connectionTimeout: login.timeoutMs ?? 20_000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw imapError(err, login);
  }
  let lock: { release(): void };
  try {
    lock = await client.getMailboxLock(login.mailbox);
  } catch (err) {
    await client.logout().catch(() => {});
    const e = err as { responseText?: string; message: string };
    throw new RemoteError("FOLDER_MISSING", `the mailbox ${login.mailbox}: ${e.responseText ?? e.message}`);
  }
  const mailbox = client.mailbox as { uidValidity?: bigint } | false;
  const validity = String(mailbox ? (mailbox.uidValidity ?? 0) : 0);
  const listed = new Set<number>();
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw imapError(err, login);
    }
  };
  return {
    hostKey,
    async list() {
      const uids = (await run(() => client.search({ unKeyword: TAKEN_KEYWORD }, { uid: true }))) || [];
      const files: RemoteFile[] = [];
      if (uids.length === 0) return files;
      for await (const msg of client.fetch(
        uids,
        { uid: true, bodyStructure: true, internalDate: true },
        { uid: true },
      )) {
        listed.add(msg.uid);
        const at =
          msg.internalDate instanceof Date ? msg.internalDate : new Date(String(msg.internalDate ?? 0));
        for (const a of attachments(msg.bodyStructure)) {
          files.push({
            name: a.name,
            path: `${login.mailbox}/${validity}/${msg.uid}/${a.part}`,
            size: a.size,
            mtime: at,
            sizeIsEncoded: true,
          });
        }
      }
      return files;
    },
    async stat() {
      throw new RemoteError("FAILED", "messages do not change: no second look is needed");
    },
    async download(path, sink) {
      const [, , uid, part] = path.split("/").slice(-4);
      const res = await run(() => client.download(String(uid), part, { uid: true }));
      let total = 0;
      if (!("content" in res) || !res.content) throw new RemoteError("FAILED", `${path}: no such part`);
      for await (const chunk of res.content as AsyncIterable<Buffer>) {
        await sink(chunk);
        total += chunk.length;
      }
      return total;
    },
    async remove() {
      throw new RemoteError("FAILED", "messages are marked taken, not removed");
    },
    async upload() {
      throw new RemoteError("FAILED", "a mailbox takes no uploads");
    },
    async finish() {
      if (listed.size > 0)
        await run(() => client.messageFlagsAdd([...listed], [TAKEN_KEYWORD], { uid: true }));
    },
    close() {
      lock.release();
      client.logout().catch(() => {});
    },
  };
}
