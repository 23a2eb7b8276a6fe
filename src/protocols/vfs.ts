/**
 * The virtual file system every SFTP/FTP login sees, built from the database and the FileStore, never from
 * server paths:
 *
 *   /<connection folder>/inbox/     inbound connections: upload here; received files are listed
 *   /<connection folder>/results/   inbound connections: result files of processed uploads
 *   /<connection folder>/outbox/    outbound connections: generated files to download
 *
 * Only the active connections of the login's credential over the login's protocol appear. Paths are
 * normalised against "/" first, so `..`, absolute paths and links can never leave this view.
 */
import path from "node:path";
import { type Kysely, sql } from "kysely";
import type { Database, TransferProtocol } from "../db/schema.js";
import { credentialActor } from "../domain/actor.js";
import { audit } from "../domain/audit.js";
import { isQuotaExceeded, type UploadLimit, uploadLimit } from "../domain/quota.js";
import { countDownload } from "../domain/transfers.js";
import type { JobQueue } from "../pipeline/jobs.js";
import { isTemporaryName, refuseName } from "../pipeline/names.js";
import {
  dropStaged,
  promoteStaged,
  type Received,
  recordUpload,
  renameStaged,
  type Sender,
  stageUpload,
} from "../pipeline/receive.js";
import { countedReader, type FileStore, type ObjectReader, type Upload } from "../pipeline/store.js";

export type VfsErrorCode =
  | "NO_SUCH_FILE"
  | "PERMISSION_DENIED"
  | "UNSUPPORTED"
  | "QUOTA_EXCEEDED"
  | "FAILURE";

/** What a client is told when it tries to resume or rewrite part of a file. */
export const NO_RESUME =
  "Resuming an upload or rewriting part of a file is not supported: upload the whole file again (it replaces the earlier one)";

/** An error with the status a protocol should answer and a message for the person at the client. */
export class VfsError extends Error {
  override name = "VfsError";
  constructor(
    readonly code: VfsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A quota refusal as the file servers say it (SFTP: a failure with the reason; FTP: 552). */
function quotaToVfs(err: unknown): never {
  if (isQuotaExceeded(err)) throw new VfsError("QUOTA_EXCEEDED", err.message);
  throw err;
}

const noSuchFile = (p: string) => new VfsError("NO_SUCH_FILE", `No such file or directory: ${p}`);
const denied = (why: string) => new VfsError("PERMISSION_DENIED", why);

export interface VfsEntry {
  name: string;
  type: "dir" | "file";
  size: number;
  mtime: Date;
}

/** A logged-in client. */
export interface Login {
  accountId: string;
  credentialId: string;
  username: string;
  protocol: Extract<TransferProtocol, "sftp" | "ftp">;
  remoteIp: string | null;
  /** The credential's own cap on concurrent sessions; null: the server's. */
  maxSessions: number | null;
}

export interface VfsDeps {
  db: Kysely<Database>;
  store: FileStore;
  /** Where the processing job of each received file goes, in the receive transaction. */
  queue: JobQueue;
  /** Largest upload accepted, in bytes. */
  maxUploadBytes: number;
}

interface ConnectionView {
  id: string;
  folder: string;
  direction: "inbound" | "outbound";
  created_at: Date;
}

/**
 * How far ahead of the data written so far a write may start. Clients pipeline writes out of order (OpenSSH:
 * 64 requests of 32 KiB) but never skip far; a 1-byte write at a huge offset would make a huge sparse upload
 * (hashed and processed in full) for nothing.
 */
export const MAX_HOLE_BYTES = 256 * 1024 ** 2;

const AREAS = { inbound: ["inbox", "results"], outbound: ["outbox"] } as const;

/** Entries per page of a folder listing read from the database. */
export const LIST_PAGE = 500;

/** A file of a folder as the database gives it. */
interface FileRow {
  id: string;
  name: string;
  size: number;
  mtime: Date;
  store_key: string | null;
  /** An upload under a temporary name, not yet a Transfer. */
  staged: boolean;
}

const fileEntry = (f: FileRow): VfsEntry => ({ name: f.name, type: "file", size: f.size, mtime: f.mtime });

/** An upload in progress: bytes go to the store; close() makes it a Transfer (or a staged file). */
export interface WriteHandle {
  write(data: Buffer, position: number): Promise<void>;
  close(): Promise<Received | { staged: string }>;
  abort(): Promise<void>;
}

/** Turns any path a client sends into the absolute, normalised path inside the view. */
export function normalisePath(p: string, cwd = "/"): string {
  const joined = p.startsWith("/") ? p : `${cwd}/${p}`;
  // posix.normalize of an absolute path resolves every `..` and clamps at "/".
  const normal = path.posix.normalize(`/${joined}`);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

function split(p: string): string[] {
  return normalisePath(p).split("/").filter(Boolean);
}

export class VirtualFs {
  private views: { at: number; list: ConnectionView[] } | undefined;

  constructor(
    private deps: VfsDeps,
    readonly login: Login,
  ) {}

  /** The login's connections, re-read at most every 2 s so a disabled connection vanishes quickly. */
  private async connections(): Promise<ConnectionView[]> {
    if (this.views && Date.now() - this.views.at < 2000) return this.views.list;
    const list = await this.deps.db
      .selectFrom("connections")
      .select(["id", "folder", "direction", "created_at"])
      .where("account_id", "=", this.login.accountId)
      .where("credential_id", "=", this.login.credentialId)
      .where("status", "=", "active")
      .where("method", "=", this.login.protocol)
      .where("methodology", "in", ["push_to_platform", "pull_from_platform"])
      .orderBy("folder")
      .execute();
    this.views = { at: Date.now(), list };
    return list;
  }

  private async connection(folder: string, p: string): Promise<ConnectionView> {
    const c = (await this.connections()).find((x) => x.folder === folder);
    if (!c) throw noSuchFile(p);
    return c;
  }

  /** Resolves a path to what it names. */
  private async locate(p: string) {
    const parts = split(p);
    if (parts.length === 0) return { kind: "root" as const };
    const connection = await this.connection(parts[0]!, p);
    if (parts.length === 1) return { kind: "connection" as const, connection };
    const area = parts[1]!;
    if (!(AREAS[connection.direction] as readonly string[]).includes(area)) throw noSuchFile(p);
    if (parts.length === 2) return { kind: "area" as const, connection, area };
    if (parts.length === 3) return { kind: "file" as const, connection, area, name: parts[2]! };
    throw noSuchFile(p);
  }

  private sender(connectionId: string): Sender {
    return {
      accountId: this.login.accountId,
      connectionId,
      credentialId: this.login.credentialId,
      protocol: this.login.protocol,
      remoteIp: this.login.remoteIp,
    };
  }

  /**
   * Files of an area by name (newest of each name): received (inbox, where a staged file stands in for a
   * received one of its name), result files (results), generated (outbox). `name`: only that one; `after` and
   * `limit`: one page of a listing (keyset on the name, served by the partial indexes transfers_listed and
   * result_files_listed, which hold only the files still stored: a page costs the same however many files
   * the folder holds or once held).
   */
  private async files(
    connection: ConnectionView,
    area: string,
    page: { name?: string; after?: string; limit?: number } = {},
  ): Promise<FileRow[]> {
    const { db } = this.deps;
    const { name, after, limit } = page;
    if (area === "results") {
      let q = db
        .selectFrom("result_files")
        .select([
          "id",
          "file_name as name",
          "size",
          "created_at as mtime",
          "store_key",
          sql<boolean>`false`.as("staged"),
        ])
        .distinctOn("file_name")
        .where("account_id", "=", this.login.accountId)
        .where("connection_id", "=", connection.id)
        .where("store_key", "is not", null)
        .orderBy("file_name")
        .orderBy("id", "desc");
      if (name !== undefined) q = q.where("file_name", "=", name);
      if (after !== undefined) q = q.where("file_name", ">", after);
      if (limit !== undefined) q = q.limit(limit);
      return q.execute();
    }
    const direction = area === "inbox" ? "inbound" : "outbound";
    let transfers = db
      .selectFrom("transfers")
      .select([
        "id",
        "file_name as name",
        "size",
        sql<Date>`coalesce(client_mtime, created_at)`.as("mtime"),
        "store_key",
        sql<boolean>`false`.as("staged"),
      ])
      .distinctOn("file_name")
      .where("account_id", "=", this.login.accountId)
      .where("connection_id", "=", connection.id)
      .where("direction", "=", direction)
      .where("hidden_at", "is", null)
      .where("store_key", "is not", null)
      .orderBy("file_name")
      .orderBy("id", "desc");
    if (name !== undefined) transfers = transfers.where("file_name", "=", name);
    if (after !== undefined) transfers = transfers.where("file_name", ">", after);
    if (limit !== undefined) transfers = transfers.limit(limit);
    if (area !== "inbox") return transfers.execute();
    let staged = db
      .selectFrom("staged_files")
      .select([
        "id",
        "file_name as name",
        "size",
        sql<Date>`coalesce(client_mtime, created_at)`.as("mtime"),
        "store_key",
        sql<boolean>`true`.as("staged"),
      ])
      .where("account_id", "=", this.login.accountId)
      .where("connection_id", "=", connection.id)
      .orderBy("file_name");
    if (name !== undefined) staged = staged.where("file_name", "=", name);
    if (after !== undefined) staged = staged.where("file_name", ">", after);
    if (limit !== undefined) staged = staged.limit(limit);
    // Each side is already cut to one page: the first `limit` names of both are among them.
    let merged = db
      .selectFrom(sql<FileRow>`((${transfers}) union all (${staged}))`.as("f"))
      .selectAll()
      .distinctOn("f.name")
      .orderBy("f.name")
      .orderBy("f.staged", "desc");
    if (limit !== undefined) merged = merged.limit(limit);
    return merged.execute();
  }

  private async file(connection: ConnectionView, area: string, name: string, p: string) {
    const [found] = await this.files(connection, area, { name });
    if (!found) throw noSuchFile(p);
    return found;
  }

  /**
   * A folder's entries by name, a page at a time, read from the database as they are asked for: a listing of
   * any size in constant memory, with nothing left out. Fails at the first page for a path that is no folder.
   */
  async *listPages(p: string, pageSize = LIST_PAGE): AsyncGenerator<VfsEntry[], void, undefined> {
    const at = await this.locate(p);
    if (at.kind !== "area") {
      yield await this.list(p);
      return;
    }
    for (let after: string | undefined; ; ) {
      const rows = await this.files(at.connection, at.area, { after, limit: pageSize });
      if (rows.length > 0) yield rows.map(fileEntry);
      if (rows.length < pageSize) return;
      after = rows.at(-1)!.name;
    }
  }

  /** A folder's entries, all at once (the page-wise listPages for folders of files). */
  async list(p: string): Promise<VfsEntry[]> {
    const at = await this.locate(p);
    switch (at.kind) {
      case "root":
        return (await this.connections()).map((c) => ({
          name: c.folder,
          type: "dir",
          size: 0,
          mtime: c.created_at,
        }));
      case "connection":
        return AREAS[at.connection.direction].map((a) => ({
          name: a,
          type: "dir",
          size: 0,
          mtime: at.connection.created_at,
        }));
      case "area": {
        const all: VfsEntry[] = [];
        for await (const page of this.listPages(p)) all.push(...page);
        return all;
      }
      case "file":
        throw new VfsError("FAILURE", `Not a directory: ${p}`);
    }
  }

  async stat(p: string): Promise<VfsEntry> {
    const at = await this.locate(p);
    const name = path.posix.basename(normalisePath(p)) || "/";
    if (at.kind === "root") return { name, type: "dir", size: 0, mtime: new Date(0) };
    if (at.kind !== "file") return { name, type: "dir", size: 0, mtime: at.connection.created_at };
    const f = await this.file(at.connection, at.area, at.name, p);
    return { name, type: "file", size: f.size, mtime: f.mtime };
  }

  /**
   * Starts an upload into an inbox. `inPlace`: the client opened the file without truncating it (a resume:
   * paramiko's open('r+'), JSch's RESUME), which is refused before any byte when the file exists — its writes
   * at an offset would otherwise make a new file with zeros in front.
   */
  async openWrite(p: string, options: { inPlace?: boolean } = {}): Promise<WriteHandle> {
    const where = `Upload into an inbox/ folder: /<connection>/inbox/<file> (not ${normalisePath(p)})`;
    const parts = split(p);
    if (parts.length !== 3 || parts[1] !== "inbox") throw denied(where);
    const at = await this.locate(p);
    if (at.kind !== "file") throw denied(where);
    const why = refuseName(at.name);
    if (why) throw denied(`The file name ${why}`);
    if (options.inPlace && (await this.files(at.connection, "inbox", { name: at.name })).length > 0) {
      throw new VfsError("UNSUPPORTED", NO_RESUME);
    }
    const limit = await uploadLimit(this.deps.db, this.login.accountId, this.deps.maxUploadBytes).catch(
      quotaToVfs,
    );
    const upload = await this.deps.store.create(this.login.accountId);
    return this.writeHandle(upload, at.connection, at.name, limit);
  }

  private writeHandle(
    upload: Upload,
    connection: ConnectionView,
    name: string,
    limit: UploadLimit,
  ): WriteHandle {
    const max = limit.bytes;
    let failed: VfsError | undefined;
    /** End of the data written so far: a write may not start further than MAX_HOLE_BYTES beyond it. */
    let extent = 0;
    /** Bytes written: fewer than the extent at close means the file has gaps (never stored as zeros). */
    let written = 0;
    const refuse = async (message: string) => {
      failed = new VfsError("FAILURE", message);
      await upload.abort();
      throw failed;
    };
    return {
      write: async (data, position) => {
        if (failed) throw failed;
        if (position + data.length > max) {
          failed = new VfsError(
            limit.bytes < this.deps.maxUploadBytes ? "QUOTA_EXCEEDED" : "FAILURE",
            limit.refusal,
          );
          await upload.abort();
          throw failed;
        }
        if (position > extent + MAX_HOLE_BYTES) {
          await refuse(
            `Write at offset ${position} leaves a gap of more than ${MAX_HOLE_BYTES} bytes after the data written so far; write files from the start`,
          );
        }
        extent = Math.max(extent, position + data.length);
        written += data.length;
        await upload.write(data, position);
      },
      close: async () => {
        if (failed) throw failed;
        if (written < extent) {
          await refuse(`The file has gaps: ${written} of its ${extent} bytes were written. ${NO_RESUME}`);
        }
        const object = await upload.commit();
        const { db, store } = this.deps;
        try {
          if (isTemporaryName(name)) {
            const replaced = await stageUpload(db, this.sender(connection.id), name, object);
            if (replaced) await store.remove(replaced);
            return { staged: name };
          }
          return await recordUpload(db, this.deps.queue, this.sender(connection.id), name, object);
        } catch (err) {
          // Other uploads of the account finished first and took what was left: this file is not kept.
          if (isQuotaExceeded(err)) await store.remove(object.key);
          return quotaToVfs(err);
        }
      },
      abort: () => upload.abort(),
    };
  }

  /**
   * Sets the modification time of an uploaded file (the newest of its name in an inbox, staged or received),
   * as clients do after an upload (sftp -p, rclone, FTP MFMT); listings then show it. Elsewhere: ignored.
   */
  async setModified(p: string, mtime: Date): Promise<void> {
    const at = await this.locate(p);
    if (at.kind !== "file" || at.area !== "inbox") return;
    const { db } = this.deps;
    const staged = await db
      .updateTable("staged_files")
      .set({ client_mtime: mtime })
      .where("account_id", "=", this.login.accountId)
      .where("connection_id", "=", at.connection.id)
      .where("file_name", "=", at.name)
      .executeTakeFirst();
    if (Number(staged.numUpdatedRows) > 0) return;
    const newest = await db
      .selectFrom("transfers")
      .select("id")
      .where("account_id", "=", this.login.accountId)
      .where("connection_id", "=", at.connection.id)
      .where("direction", "=", "inbound")
      .where("file_name", "=", at.name)
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    if (!newest) throw noSuchFile(p);
    await db.updateTable("transfers").set({ client_mtime: mtime }).where("id", "=", newest.id).execute();
  }

  /** Opens a file for reading; a download from outbox/ is counted and audited. */
  async openRead(p: string): Promise<ObjectReader> {
    const at = await this.locate(p);
    if (at.kind !== "file") throw new VfsError("FAILURE", `Is a directory: ${normalisePath(p)}`);
    const f = await this.file(at.connection, at.area, at.name, p);
    const reader = await this.deps.store.open(f.store_key!);
    if (at.area === "outbox") await this.markDownloaded(f.id, at.name);
    return countedReader(reader, this.login.protocol);
  }

  private async markDownloaded(transferId: string, name: string): Promise<void> {
    const { db } = this.deps;
    await countDownload(db, this.login.accountId, transferId);
    await audit(
      db,
      credentialActor(this.login.accountId, this.login.credentialId, this.login.remoteIp),
      "transfer.downloaded",
      { type: "transfer", id: transferId },
      { fileName: name, protocol: this.login.protocol, username: this.login.username },
    );
  }

  /** Renames within one inbox: a file uploaded under a temporary name becomes a Transfer here. */
  async rename(from: string, to: string): Promise<Received | null> {
    const a = await this.locate(from);
    const b = await this.locate(to).catch(() => null);
    if (a.kind !== "file" || a.area !== "inbox" || !b || b.kind !== "file" || b.area !== "inbox") {
      throw denied("Only files in an inbox/ can be renamed, within the same inbox/");
    }
    if (a.connection.id !== b.connection.id) throw denied("Files cannot move between connections");
    const why = refuseName(b.name);
    if (why) throw denied(`The file name ${why}`);
    const { db } = this.deps;
    const staged = (await this.file(a.connection, "inbox", a.name, from)).staged;
    if (!staged) throw denied("A received file cannot be renamed: it is already recorded as a transfer");
    if (isTemporaryName(b.name)) {
      await renameStaged(db, a.connection.id, a.name, b.name);
      return null;
    }
    const received = await promoteStaged(db, this.deps.queue, a.connection.id, a.name, b.name);
    if (!received) throw noSuchFile(from);
    return received;
  }

  /** Removes a file from an inbox/ or outbox/ view; the Transfer itself is kept. */
  async remove(p: string): Promise<void> {
    const at = await this.locate(p);
    if (at.kind !== "file" || at.area === "results") throw denied(`Cannot remove ${normalisePath(p)}`);
    const f = await this.file(at.connection, at.area, at.name, p);
    const { db, store } = this.deps;
    if (f.staged) {
      const key = await dropStaged(db, at.connection.id, at.name);
      if (key) await store.remove(key);
      return;
    }
    await db
      .updateTable("transfers")
      .set({ hidden_at: new Date() })
      .where("account_id", "=", this.login.accountId)
      .where("connection_id", "=", at.connection.id)
      .where("file_name", "=", at.name)
      .where("hidden_at", "is", null)
      .execute();
  }

  /** The folder structure is fixed. */
  async mkdir(p: string): Promise<never> {
    await this.locate(p).catch(() => null);
    throw denied("Folders are fixed: one per connection, with inbox/, results/ or outbox/");
  }

  async rmdir(p: string): Promise<never> {
    await this.locate(p);
    throw denied("Folders are fixed and cannot be removed");
  }
}
