/**
 * The remote-server port: what the pipeline needs from a customer's server, whatever the protocol — list a
 * folder, read, write and remove files — and errors in words a user can act on. The clients that fill it
 * (SFTP, FTP/FTPS, IMAP) live in protocols/remote/ and come in through a RemoteConnector that server.ts
 * gives the pipeline; here the connection's details become a login (its sealed password or the account's
 * key unsealed), and the connector checks where Ferry may connect and speaks the protocol.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import { accountPrivateKey } from "../domain/account-keys.js";
import type { SecretBox } from "../domain/secretbox.js";
import { messageOf } from "../thrown.js";

export type RemoteErrorCode =
  | "AUTH_FAILED"
  | "UNREACHABLE"
  | "FOLDER_MISSING"
  | "PERMISSION_DENIED"
  | "HOST_KEY_MISMATCH"
  | "TLS_ERROR"
  | "DISCONNECTED"
  | "FAILED";

export const REMOTE_ERROR_WORDS: Record<RemoteErrorCode, string> = {
  AUTH_FAILED: "authentication failed",
  UNREACHABLE: "host unreachable",
  FOLDER_MISSING: "folder missing",
  PERMISSION_DENIED: "permission denied",
  HOST_KEY_MISMATCH: "host key mismatch",
  TLS_ERROR: "TLS error",
  DISCONNECTED: "server disconnected",
  FAILED: "failed",
};

export class RemoteError extends Error {
  override name = "RemoteError";
  constructor(
    readonly code: RemoteErrorCode,
    detail: string,
  ) {
    super(`${REMOTE_ERROR_WORDS[code]}: ${detail}`);
  }
}

export interface RemoteFile {
  name: string;
  /** Absolute path on the server. */
  path: string;
  size: number;
  mtime: Date;
  /** The size as the server stores it (an email attachment's encoded size), not the file's. */
  sizeIsEncoded?: boolean;
}

export interface RemoteSession {
  /** The fingerprint of the server's SSH host key or TLS certificate (`SHA256:…`); "" for plain FTP. */
  hostKey: string;
  /** The regular files of a folder. */
  list(folder: string): Promise<RemoteFile[]>;
  stat(path: string): Promise<{ size: number; mtime: Date }>;
  /** Streams a file's bytes to `sink`, chunk by chunk, in order. */
  download(path: string, sink: (chunk: Buffer) => Promise<void>): Promise<number>;
  remove(path: string): Promise<void>;
  /**
   * Writes a file under a temporary name in the same folder and renames it when complete, so that the
   * server's users never see half a file. An existing file of that name is replaced.
   */
  upload(path: string, source: AsyncIterable<Buffer>): Promise<void>;
  /** Marks what was listed as taken, once all of it is received (a mailbox's messages), if the kind needs it. */
  finish?(): Promise<void>;
  close(): void;
}

/** A connection's details that say where its server is and how to log in (pull, result folder, delivery). */
export interface PullDetails {
  host: string;
  port: number;
  username: string;
  passwordSealed?: string;
  authMethod?: "password" | "key";
  hostKeyFingerprint?: string;
  folder: string;
  filePattern: string;
  deleteAfterPull?: boolean;
  resultFolder?: string;
  security?: "explicit" | "implicit" | "none";
  /** IMAP: TLS on connect (993), and the mailbox folder. */
  tls?: boolean;
  mailbox?: string;
}

/** A login to a customer's server, its secret unsealed. */
export interface RemoteLogin {
  method: "sftp" | "ftp" | "email";
  host: string;
  port: number;
  username: string;
  password: string;
  /** SFTP: the account's private key instead of the password. */
  privateKey?: string | undefined;
  /** The pinned SSH host key or TLS certificate (`SHA256:…`); any is accepted (and reported) when unset. */
  hostKeyFingerprint?: string | undefined;
  /** FTP: plain, explicit (AUTH TLS) or implicit TLS. */
  security: "explicit" | "implicit" | "none";
  /** IMAP: TLS on connect, and the mailbox folder. */
  tls: boolean;
  mailbox: string;
}

/** Logs in to a server by its protocol (protocols/remote/connect.ts), or fails with a RemoteError. */
export type RemoteConnector = (login: RemoteLogin) => Promise<RemoteSession>;

/** What connecting to a customer's server needs: the sealed secrets' box, and the protocols' connector. */
export interface RemoteAccess {
  db: Kysely<Database>;
  box: SecretBox;
  connect: RemoteConnector;
}

/**
 * Logs in to a connection's server by its method: SFTP with its password (unsealed) or the account's key;
 * FTP/FTPS and IMAP with its password. The pinned key (SSH host key or TLS certificate) is checked.
 */
export async function connectRemote(
  { db, box, connect }: RemoteAccess,
  accountId: string,
  method: string,
  d: Pick<
    PullDetails,
    | "host"
    | "port"
    | "username"
    | "passwordSealed"
    | "authMethod"
    | "hostKeyFingerprint"
    | "security"
    | "tls"
    | "mailbox"
  > & {
    /** A password typed for a test (never stored), instead of the sealed one. */
    password?: string | undefined;
  },
): Promise<RemoteSession> {
  const kind = method === "email" || method === "ftp" ? method : "sftp";
  return connect({
    method: kind,
    host: d.host,
    port: d.port ?? (kind === "email" ? 993 : kind === "ftp" ? 21 : 22),
    username: d.username,
    password: d.password ?? (d.passwordSealed ? box.open(d.passwordSealed) : ""),
    privateKey:
      kind === "sftp" && d.authMethod === "key" ? await accountPrivateKey(db, box, accountId) : undefined,
    hostKeyFingerprint: d.hostKeyFingerprint,
    security: d.security ?? "explicit",
    tls: d.tls ?? true,
    mailbox: d.mailbox ?? "INBOX",
  });
}

/** What a connection test found: the server let Ferry in, and what its folder holds. */
export interface RemoteTestResult {
  ok: boolean;
  /** The server's SSH host key or TLS certificate fingerprint (to accept before saving); "" for plain FTP. */
  hostKey: string | null;
  /** The folder (or mailbox) listed. */
  folder: string;
  /** How many files it holds, and the first names (sorted). */
  files: number;
  sample: string[];
  /** Why it failed, in words (a RemoteError's), and its code. */
  error: { code: RemoteErrorCode; message: string } | null;
}

/** How many names a test reports. */
const TEST_SAMPLE = 10;

/**
 * Tests a server login before it is saved (or a saved connection's): logs in, lists the folder, reports the
 * host key or certificate fingerprint — nothing is pulled, written or removed. A pinned key that does not
 * match fails as it would at a pull. The password is the one given, or the saved connection's (sealed).
 */
export async function testRemote(
  access: RemoteAccess,
  accountId: string,
  method: string,
  d: Pick<
    PullDetails,
    "host" | "port" | "username" | "passwordSealed" | "authMethod" | "hostKeyFingerprint" | "security" | "tls"
  > & { password?: string | undefined; folder: string },
): Promise<RemoteTestResult> {
  const folder = method === "email" ? d.folder || "INBOX" : d.folder;
  let session: RemoteSession | undefined;
  try {
    session = await connectRemote(access, accountId, method, { ...d, mailbox: folder });
    const files = await session.list(method === "email" ? "" : folder);
    const names = files.map((f) => f.name).sort();
    return {
      ok: true,
      hostKey: session.hostKey,
      folder,
      files: names.length,
      sample: names.slice(0, TEST_SAMPLE),
      error: null,
    };
  } catch (err) {
    const e =
      err instanceof RemoteError
        ? { code: err.code, message: err.message }
        : { code: "FAILED" as const, message: `failed: ${messageOf(err)}` };
    return { ok: false, hostKey: null, folder, files: 0, sample: [], error: e };
  } finally {
    session?.close();
  }
}
