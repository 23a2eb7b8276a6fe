/**
 * What Ferry needs from a customer's server, whatever the protocol (SFTP: sftp-client.ts; FTP/FTPS:
 * ftp-client.ts): list a folder, read, write and remove files; and errors in words a user can act on.
 */

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

/** Error codes of the network that mean the server cannot be reached. */
export const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
]);

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
  close(): void;
}
