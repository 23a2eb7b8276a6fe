/**
 * The FTP commands' file system over the virtual file system: the same view, names and rules as SFTP.
 * Uploads are a Writable whose final() commits and records the file, and STOR answers 226 only after that
 * ('finish'), so "226 Transfer complete" means the file is durably received.
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { lendingStream } from "../../pipeline/store.js";
import {
  NO_RESUME,
  normalisePath,
  type VfsEntry,
  VfsError,
  type VirtualFs,
  type WriteHandle,
} from "../vfs.js";

/** An entry as LIST, MLSD, MLST and STAT show it. */
export interface FtpStat {
  name: string;
  size: number;
  mtime: Date;
  mode: number;
  isDirectory(): boolean;
}

function toStat(e: VfsEntry): FtpStat {
  return {
    name: e.name,
    size: e.size,
    mtime: e.mtime,
    mode: e.type === "dir" ? 0o755 : 0o644,
    isDirectory: () => e.type === "dir",
  };
}

/**
 * An upload over an FTP data connection; STOR (transfers.ts) ends it when the data connection ended in
 * order and destroys it otherwise. FTP's stream mode has no end-of-file marker: over plain FTP a client
 * killed mid-upload closes the data connection just like a finished one (over FTPS the missing TLS close
 * tells, see data-tls.ts). Such a client has also lost its control connection, so an upload whose control
 * connection is gone when the data ends is discarded: no 226 could be sent for it, and nothing
 * unacknowledged is kept.
 */
class UploadStream extends Writable {
  private position = 0;
  private finished = false;

  constructor(
    private handle: WriteHandle,
    private control: () => Socket,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const at = this.position;
    this.position += chunk.length;
    this.handle.write(chunk, at).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    (async () => {
      // Give a dying client's control-connection FIN time to arrive (it is sent with the data FIN).
      await sleep(50);
      const socket = this.control();
      if (socket.destroyed || socket.readableEnded) {
        await this.handle.abort();
        throw new VfsError(
          "FAILURE",
          "The control connection closed during the upload; the file was discarded",
        );
      }
      await this.handle.close();
      this.finished = true;
    })().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.finished) {
      done(err);
      return;
    }
    this.handle.abort().then(
      () => done(err),
      () => done(err),
    );
  }
}

export class FerryFileSystem {
  private cwd = "/";
  private uploads = new Set<UploadStream>();

  constructor(
    private vfs: VirtualFs,
    private control: () => Socket,
  ) {}

  private resolve(p: string | undefined): string {
    return normalisePath(p ?? ".", this.cwd);
  }

  currentDirectory(): string {
    return this.cwd;
  }

  async get(fileName: string): Promise<FtpStat> {
    const p = this.resolve(fileName);
    return toStat({ ...(await this.vfs.stat(p)), name: path.posix.basename(p) || "/" });
  }

  /** A folder's entries a page at a time (LIST, NLST and MLSD stream them: listing.ts). */
  async *listPages(dir?: string): AsyncGenerator<FtpStat[], void, undefined> {
    for await (const page of this.vfs.listPages(this.resolve(dir))) yield page.map(toStat);
  }

  async chdir(dir?: string): Promise<string> {
    const p = this.resolve(dir);
    if ((await this.vfs.stat(p)).type !== "dir") throw new VfsError("FAILURE", `Not a directory: ${p}`);
    this.cwd = p;
    return p;
  }

  async write(fileName: string, options: { append?: boolean; start?: number } = {}) {
    if (options.append || options.start) throw new VfsError("UNSUPPORTED", NO_RESUME);
    const p = this.resolve(fileName);
    const handle = await this.vfs.openWrite(p);
    const stream = new UploadStream(handle, this.control);
    this.uploads.add(stream);
    stream.once("finish", () => this.uploads.delete(stream));
    return { stream, clientPath: p };
  }

  /** Aborts uploads still open when the session ends, so they leave no temporary files behind. */
  abortOpenUploads(): void {
    for (const stream of this.uploads) {
      if (!stream.destroyed) stream.destroy();
    }
    this.uploads.clear();
  }

  async read(fileName: string, options: { start?: number } = {}) {
    const p = this.resolve(fileName);
    const reader = await this.vfs.openRead(p);
    // RETR writes each chunk before it takes the next: the stream may lend its buffers.
    return { stream: lendingStream(reader, options.start ?? 0), clientPath: p };
  }

  async delete(p: string): Promise<void> {
    const full = this.resolve(p);
    if ((await this.vfs.stat(full)).type === "dir") await this.vfs.rmdir(full);
    else await this.vfs.remove(full);
  }

  async mkdir(p: string): Promise<never> {
    return this.vfs.mkdir(this.resolve(p));
  }

  async removeFolder(p: string): Promise<never> {
    return this.vfs.rmdir(this.resolve(p));
  }

  async rename(from: string, to: string): Promise<void> {
    await this.vfs.rename(this.resolve(from), this.resolve(to));
  }

  /** MFMT: the modification time of an uploaded file (kept and listed). */
  async setModified(p: string, mtime: Date): Promise<void> {
    const full = this.resolve(p);
    await this.vfs.stat(full);
    await this.vfs.setModified(full, mtime);
  }

  getUniqueName(fileName: string): string {
    return `${randomBytes(4).toString("hex")}-${path.posix.basename(fileName)}`;
  }
}
