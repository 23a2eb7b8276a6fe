/**
 * The local FileStore: objects under <root>/objects/<2 chars>/<key>, uploads in <root>/tmp until committed.
 * Sequential writes are gathered into 1 MiB writes (per-request writes were the bottleneck: ARCHITECTURE.md,
 * "Measured facts") and hashed as they arrive; commit fsyncs the file, renames it into place and fsyncs the
 * directory, so a committed object survives a crash.
 */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { newId } from "../db/ids.js";
import type { FileStore, ObjectReader, StoredObject, Upload } from "../pipeline/store.js";

/** Pending bytes gathered before one write to disk. */
const CHUNK = 1024 * 1024;
/**
 * Bytes written between background fdatasync calls. Syncing while the upload still streams in lets the disk
 * work in parallel with the network, so the final fsync at commit (the durability point) has little left.
 */
const SYNC_EVERY = 32 * CHUNK;
/** Pending bytes beyond which write() waits for the disk (bounds memory per upload). */
const MAX_PENDING = 8 * CHUNK;

/**
 * Chunks given back once written, for the next uploads. Every new buffer counts as V8 "external memory", and
 * a stream of new ones made V8 run a full mark-compact about every 100 ms during an SFTP upload ("external
 * memory pressure"): reusing them halves that churn (the other half is the sockets' own reads).
 */
const freeChunks: Buffer[] = [];
const MAX_FREE_CHUNKS = 16;

function takeChunk(size: number): Buffer {
  if (size <= CHUNK) {
    const reused = freeChunks.pop();
    if (reused) return reused;
  }
  return Buffer.allocUnsafeSlow(Math.max(CHUNK, size));
}

function giveBack(chunk: Buffer): void {
  if (chunk.length === CHUNK && freeChunks.length < MAX_FREE_CHUNKS) freeChunks.push(chunk);
}

export function localStore(root: string): FileStore {
  const tmpDir = path.join(root, "tmp");
  const objectsDir = path.join(root, "objects");
  const objectPath = (key: string) => {
    if (!/^[0-9a-f-]{36}$/.test(key)) throw new Error(`Bad object key: ${key}`);
    return path.join(objectsDir, key.slice(-2), key);
  };
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
      return new LocalUpload(fd, file, key, objectPath(key));
    },
    async open(key) {
      const fd = await open(objectPath(key), "r");
      const { size } = await fd.stat();
      return new LocalReader(fd, size);
    },
    async remove(key) {
      await unlink(objectPath(key)).catch((err) => {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      });
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
    // took a quarter of an SFTP upload's CPU.
    if (
      this.pendingLength > 0 &&
      position === this.pendingStart + this.pendingLength &&
      this.pendingLength + data.length <= this.chunk!.length
    ) {
      data.copy(this.chunk!, this.pendingLength);
      this.pendingLength += data.length;
    } else {
      this.flush();
      this.chunk = takeChunk(data.length);
      data.copy(this.chunk, 0);
      this.pendingStart = position;
      this.pendingLength = data.length;
    }
    this.size = Math.max(this.size, end);
    if (this.pendingLength >= CHUNK) this.flush();
    // Wait for the disk when too much is buffered, so a client faster than the disk cannot fill memory
    // (counted in allocated chunks: scattered small writes each hold a whole one).
    if (this.inFlight + (this.chunk?.length ?? 0) >= MAX_PENDING) await this.flushing;
    if (this.failed) throw this.failed;
  }

  /** Queues the pending bytes for one positional write. */
  private flush(): void {
    if (this.pendingLength === 0) return;
    const chunk = this.chunk!;
    const buffer = chunk.subarray(0, this.pendingLength);
    const held = chunk.length;
    const at = this.pendingStart;
    this.chunk = null;
    this.pendingLength = 0;
    this.inFlight += held;
    this.flushing = this.flushing.then(async () => {
      try {
        if (this.failed) return;
        let written = 0;
        while (written < buffer.length) {
          const { bytesWritten } = await this.fd.write(
            buffer,
            written,
            buffer.length - written,
            at + written,
          );
          written += bytesWritten;
        }
        this.unsynced += buffer.length;
        if (this.unsynced >= SYNC_EVERY) {
          this.unsynced = 0;
          // Not awaited here: later writes go on while the disk syncs; commit waits for it.
          this.syncing = Promise.all([this.syncing, this.fd.datasync().catch(() => {})]);
        }
      } catch (err) {
        this.failed = err as Error;
      } finally {
        this.inFlight -= held;
        giveBack(chunk);
      }
    });
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
    await this.fd.close().catch(() => {});
    await rm(this.tmpFile, { force: true });
  }
}

class LocalReader implements ObjectReader {
  constructor(
    private fd: FileHandle,
    readonly size: number,
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
    const buffer = Buffer.allocUnsafeSlow(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await this.fd.read(buffer, got, n - got, position + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === n ? buffer : buffer.subarray(0, got);
  }

  private closed = false;

  /** Closes the file; closing again does nothing. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.fd.close();
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
