/**
 * The local FileStore: objects under <root>/objects/<2 chars>/<key>, uploads in <root>/tmp until committed.
 * Sequential writes are gathered into 1 MiB writes (per-request writes were the bottleneck: ARCHITECTURE.md,
 * "Measured facts") and hashed as they arrive; commit fsyncs the file, renames it into place and fsyncs the
 * directory, so a committed object survives a crash.
 *
 * Large uploads go to disk with direct I/O (O_DIRECT) after their first MiB: a buffered write copies every byte
 * into the page cache, and on a VM that copy took up to a third of an SFTP upload's CPU (2.5 s per GiB when the
 * kernel hands out fresh pages), all of it to be flushed to disk by the fsync before the file is acknowledged
 * anyway. Direct writes need buffers at aligned addresses: they come from WebAssembly memories, which start on a
 * page boundary. Small files, the first and the last partial MiB, scattered writes and file systems that refuse
 * O_DIRECT use ordinary buffered writes.
 */

import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { keyAt, newId } from "../db/ids.js";
import type { FileStore, ObjectReader, StoredObject, Upload } from "../pipeline/store.js";
import { coerceError } from "../thrown.js";
import { CHUNK, giveBack, isAligned, takeChunk } from "./chunks.js";

/**
 * Bytes written between background fdatasync calls. Syncing while the upload still streams in lets the disk
 * work in parallel with the network, so the final fsync at commit (the durability point) has little left.
 */
const SYNC_EVERY = 32 * CHUNK;
/** Pending bytes beyond which write() waits for the disk (bounds memory per upload). */
const MAX_PENDING = 8 * CHUNK;

/** Bytes moved with direct I/O since start (tests and metrics: shows whether the file system allows it). */
export const directIo = { written: 0, read: 0 };

/** Whether a write can go straight to disk: a whole aligned chunk at an offset that is a multiple of 4 KiB. */
const directWritable = (chunk: Buffer, length: number, at: number) =>
  length === CHUNK && at % 4096 === 0 && isAligned(chunk);

export function localStore(root: string, options: { directIo?: boolean } = {}): FileStore {
  const tmpDir = path.join(root, "tmp");
  const objectsDir = path.join(root, "objects");
  const objectPath = (key: string) => {
    if (!/^[0-9a-f-]{36}$/.test(key)) throw new Error(`Bad object key: ${key}`);
    return path.join(objectsDir, key.slice(-2), key);
  };
  /** Cleared for good when the file system refuses O_DIRECT (e.g. some tmpfs, FUSE): buffered writes then. */
  const direct = { usable: process.platform === "linux" && options.directIo !== false };
  let ready: Promise<unknown> | undefined;
  const ensureDirs = () => {
    ready ??= Promise.all([mkdir(tmpDir, { recursive: true }), mkdir(objectsDir, { recursive: true })]);
    return ready;
  };

  return {
    async create() {
      await ensureDirs();
      const key = newId();
      const file = path.join(tmpDir, `${key}.upload`);
      const fd = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, 0o600);
      return new LocalUpload(fd, file, key, objectPath(key), direct);
    },
    async open(key) {
      const file = objectPath(key);
      const fd = await open(file, "r");
      const { size } = await fd.stat();
      return new LocalReader(fd, size, file, direct);
    },
    async remove(key) {
      await unlink(objectPath(key)).catch((err) => {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      });
    },
    async removeStaleUploads(before) {
      await ensureDirs();
      let removed = 0;
      for (const name of await readdir(tmpDir)) {
        const file = path.join(tmpDir, name);
        const info = await stat(file).catch(() => null);
        if (
          info &&
          info.mtime < before &&
          (await unlink(file).then(
            () => true,
            () => false,
          ))
        )
          removed++;
      }
      return removed;
    },
    async *objectsBetween(from, before) {
      await ensureDirs();
      const first = keyAt(from);
      for (const shard of await readdir(objectsDir)) {
        const keys: string[] = [];
        for (const key of await readdir(path.join(objectsDir, shard)).catch(() => [] as string[])) {
          if (key < first) continue; // older than the window: no stat
          const info = await stat(path.join(objectsDir, shard, key)).catch(() => null);
          if (info && info.mtime < before) keys.push(key);
        }
        if (keys.length) yield keys;
      }
    },
  };
}

class LocalUpload implements Upload {
  size = 0;
  /** Sequential bytes gathered for one write: `chunk[0, pendingLength)` belongs at `pendingStart`. */
  private chunk: Buffer | null = null;
  private pendingStart = 0;
  private pendingLength = 0;
  /** Bytes handed to the disk but not yet written. */
  private inFlight = 0;
  private unsynced = 0;
  private syncing: Promise<unknown> = Promise.resolve();
  private flushing: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  /** Hash of bytes 0..hashed, valid while all writes were sequential. */
  private hash = createHash("sha256");
  private hashed = 0;
  private sequential = true;
  private done = false;

  constructor(
    private fd: FileHandle,
    private tmpFile: string,
    private key: string,
    private finalFile: string,
    private direct: { usable: boolean },
  ) {}

  async write(data: Buffer, position: number): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.done) throw new Error("Upload already finished");
    const end = position + data.length;
    if (this.sequential && position === this.hashed) {
      this.hash.update(data);
      this.hashed = end;
    } else {
      this.sequential = false;
    }
    // Copied once, straight into the chunk being gathered (protocol libraries may reuse the buffer they hand
    // us). A copy per request and a concat per chunk allocated 33 buffers per MiB, and the garbage collector
    // took a quarter of an SFTP upload's CPU. Chunks are filled to the brim, so that a sequential upload is
    // written in whole MiBs at MiB offsets (what direct I/O needs), whatever the size of its writes.
    for (let from = 0; from < data.length; ) {
      const at = position + from;
      if (this.pendingLength === 0 || at !== this.pendingStart + this.pendingLength) {
        this.flush();
        // Aligned chunks only for what looks like a large sequential upload (past its first MiB).
        this.chunk = takeChunk(this.direct.usable && at >= CHUNK && at % 4096 === 0);
        this.pendingStart = at;
      }
      const n = Math.min(data.length - from, CHUNK - this.pendingLength);
      data.copy(this.chunk!, this.pendingLength, from, from + n);
      this.pendingLength += n;
      from += n;
      if (this.pendingLength === CHUNK) this.flush();
    }
    this.size = Math.max(this.size, end);
    // Wait for the disk when too much is buffered, so a client faster than the disk cannot fill memory
    // (counted in whole chunks: scattered small writes each hold one).
    if (this.inFlight + (this.chunk ? CHUNK : 0) >= MAX_PENDING) await this.flushing;
    if (this.failed) throw this.failed;
  }

  /** Queues the pending bytes for one positional write. */
  private flush(): void {
    if (this.pendingLength === 0) return;
    const chunk = this.chunk!;
    const buffer = chunk.subarray(0, this.pendingLength);
    const at = this.pendingStart;
    this.chunk = null;
    this.pendingLength = 0;
    this.inFlight += CHUNK;
    this.flushing = this.flushing.then(async () => {
      try {
        if (this.failed) return;
        const fd = directWritable(chunk, buffer.length, at) ? await this.directHandle() : null;
        if (!(fd && (await this.writeDirect(fd, buffer, at)))) await writeAll(this.fd, buffer, at);
        this.unsynced += buffer.length;
        if (this.unsynced >= SYNC_EVERY) {
          this.unsynced = 0;
          // Not awaited here: later writes go on while the disk syncs; commit waits for it.
          this.syncing = Promise.all([this.syncing, this.fd.datasync().catch(() => {})]);
        }
      } catch (err) {
        this.failed = coerceError(err);
      } finally {
        this.inFlight -= CHUNK;
        giveBack(chunk);
      }
    });
  }

  /** A second descriptor of the upload's file, opened with O_DIRECT on first use; null where refused. */
  private directFd: Promise<FileHandle | null> | undefined;

  private directHandle(): Promise<FileHandle | null> {
    this.directFd ??= open(this.tmpFile, constants.O_WRONLY | constants.O_DIRECT).catch((err) =>
      refused(err, this.direct),
    );
    return this.directFd;
  }

  /** Writes through O_DIRECT; false (nothing written) when the file system refuses it, for good. */
  private async writeDirect(fd: FileHandle, buffer: Buffer, at: number): Promise<boolean> {
    try {
      await writeAll(fd, buffer, at);
      directIo.written += buffer.length;
      return true;
    } catch (err) {
      return refused(err, this.direct) ?? false;
    }
  }

  async commit(): Promise<StoredObject> {
    this.flush();
    await this.flushing;
    if (this.failed) {
      await this.abort();
      throw this.failed;
    }
    this.done = true;
    let sha256: string;
    if (this.sequential && this.hashed === this.size) {
      sha256 = this.hash.digest("hex");
    } else {
      // Out-of-order writes: hash what is on disk.
      sha256 = await hashFile(this.tmpFile);
    }
    await this.syncing;
    await closeQuietly(this.directFd);
    await this.fd.sync();
    await this.fd.close();
    await mkdir(path.dirname(this.finalFile), { recursive: true });
    await rename(this.tmpFile, this.finalFile);
    await syncDir(path.dirname(this.finalFile));
    return { key: this.key, size: this.size, sha256 };
  }

  async abort(): Promise<void> {
    this.done = true;
    await this.flushing;
    await this.syncing;
    await closeQuietly(this.directFd);
    await this.fd.close().catch(() => {});
    await rm(this.tmpFile, { force: true });
  }
}

class LocalReader implements ObjectReader {
  constructor(
    private fd: FileHandle,
    readonly size: number,
    private file: string,
    private direct: { usable: boolean },
  ) {}

  /**
   * The block read ahead for small sequential reads (SFTP clients ask 32 KiB at a time, many at once): one
   * disk read and one buffer per MiB instead of per request. Blocks are never reused, so the slices handed
   * out stay valid.
   */
  private ahead: { start: number; length: number; data: Promise<Buffer> } | null = null;

  async read(position: number, length: number): Promise<Buffer> {
    const n = Math.max(0, Math.min(length, this.size - position));
    if (n === 0) return Buffer.alloc(0);
    if (n < CHUNK) {
      let a = this.ahead;
      if (!a || position < a.start || position + n > a.start + a.length) {
        const blockLength = Math.min(CHUNK, this.size - position);
        a = { start: position, length: blockLength, data: this.readAt(position, blockLength) };
        this.ahead = a;
      }
      const block = await a.data;
      const from = position - a.start;
      return block.subarray(from, Math.min(from + n, block.length));
    }
    return this.readAt(position, n);
  }

  private async readAt(position: number, n: number): Promise<Buffer> {
    if (n <= CHUNK && position % 4096 === 0 && this.direct.usable) {
      const read = await this.readDirect(position, n);
      if (read) return read;
    }
    const buffer = Buffer.allocUnsafeSlow(n);
    const got = await readFully(this.fd, buffer, 0, n, position);
    return got === n ? buffer : buffer.subarray(0, got);
  }

  /** A second descriptor with O_DIRECT, opened on first use; null where refused. */
  private directFd: Promise<FileHandle | null> | undefined;

  /**
   * Reads a block with direct I/O and copies it out (what read() hands out must stay valid). Like direct
   * writes, this spares the page cache fill, which cost more CPU than the copy; null when direct I/O is not
   * possible here.
   */
  private async readDirect(position: number, n: number): Promise<Buffer | null> {
    const chunk = takeChunk(true);
    try {
      const got = await this.readDirectInto(chunk, position, n);
      if (got === null) return null;
      const out = Buffer.allocUnsafeSlow(got);
      chunk.copy(out, 0, 0, got);
      return out;
    } finally {
      giveBack(chunk);
    }
  }

  /** Up to `n` bytes at `position` into an aligned chunk, by direct I/O; null when that is not possible. */
  private async readDirectInto(chunk: Buffer, position: number, n: number): Promise<number | null> {
    if (!isAligned(chunk)) return null;
    this.directFd ??= open(this.file, constants.O_RDONLY | constants.O_DIRECT).catch((err) =>
      refused(err, this.direct),
    );
    try {
      const fd = await this.directFd;
      if (!fd) return null;
      let got = 0;
      // Whole aligned blocks only. A read that ends unaligned is the file's end, or a short read: whatever is
      // left comes through the ordinary descriptor (never a block that stops early: that would read as EOF).
      while (got < n) {
        const { bytesRead } = await fd.read(chunk, got, CHUNK - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
        if (got % 4096 !== 0) {
          if (got < n) got += await readFully(this.fd, chunk, got, n - got, position + got);
          break;
        }
      }
      got = Math.min(got, n);
      directIo.read += got;
      return got;
    } catch (err) {
      return refused(err, this.direct);
    }
  }

  readInto(target: Buffer, position: number): Promise<number> {
    return readFully(this.fd, target, 0, target.length, position);
  }

  /** The block lent out by readWith: its chunk goes back to the pool once replaced and no longer in use. */
  private lent: LentBlock | null = null;

  async readWith(position: number, length: number, use: (data: Buffer) => void): Promise<void> {
    const n = Math.max(0, Math.min(length, this.size - position));
    let b = this.lent;
    if (n > 0 && n < CHUNK && (!b || position < b.start || position + n > b.start + b.length)) {
      b = null;
      if (position % 4096 === 0 && this.direct.usable) {
        const chunk = takeChunk(true);
        const blockLength = Math.min(CHUNK, this.size - position);
        b = { start: position, length: blockLength, chunk, users: 0, retired: false, got: null };
        b.got = this.readDirectInto(chunk, position, blockLength);
      }
      if (this.lent) retire(this.lent);
      this.lent = b;
    }
    if (n === 0 || n >= CHUNK || !b) return use(await this.read(position, length));
    b.users++;
    try {
      const got = await b.got;
      if (got === null) return use(await this.read(position, length));
      const from = position - b.start;
      use(b.chunk.subarray(from, Math.min(from + n, got)));
    } finally {
      b.users--;
      if (b.retired && b.users === 0) retire(b);
    }
  }

  private closed = false;

  /** Closes the file; closing again does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.lent) retire(this.lent);
    this.lent = null;
    await closeQuietly(this.directFd);
    await this.fd.close();
  }
}

interface LentBlock {
  start: number;
  length: number;
  chunk: Buffer;
  /** Bytes read into the chunk (null: direct I/O refused). */
  got: Promise<number | null> | null;
  /** readWith calls using it now. */
  users: number;
  retired: boolean;
}

/** Marks a lent block as replaced; its chunk returns to the pool when its last user is done. */
function retire(b: LentBlock): void {
  b.retired = true;
  if (b.users === 0 && b.chunk.length > 0) {
    giveBack(b.chunk);
    // Given back exactly once.
    b.chunk = Buffer.alloc(0);
  }
}

/** EINVAL from an O_DIRECT open, read or write: this file system will not do direct I/O; anything else throws. */
function refused(err: unknown, direct: { usable: boolean }): null {
  if ((err as NodeJS.ErrnoException).code !== "EINVAL") throw err;
  direct.usable = false;
  return null;
}

async function closeQuietly(fd: Promise<FileHandle | null> | undefined): Promise<void> {
  const handle = await fd?.catch(() => null);
  await handle?.close().catch(() => {});
}

/** Reads `length` bytes at `position` into `buffer` from `offset`, fewer at the end of the file; the count. */
async function readFully(
  fd: FileHandle,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fd.read(buffer, offset + got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

async function writeAll(fd: FileHandle, buffer: Buffer, at: number): Promise<void> {
  for (let written = 0; written < buffer.length; ) {
    const { bytesWritten } = await fd.write(buffer, written, buffer.length - written, at + written);
    written += bytesWritten;
  }
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (d) => hash.update(d))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject);
  });
}

async function syncDir(dir: string): Promise<void> {
  const fd = await open(dir, "r");
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}
