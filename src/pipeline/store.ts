/** The FileStore port: where the bytes of every transfer live, addressed by an immutable key. */

import { Readable } from "node:stream";
import { bytesSent } from "../telemetry.js";
import { coerceError } from "../thrown.js";

/** An object being written. Nothing is visible under a key until commit. */
export interface Upload {
  /**
   * Writes bytes at a position; sequential writes are coalesced into large writes. `data` is copied before
   * this returns (before its first await): callers may reuse the buffer at once (the SFTP server does).
   */
  write(data: Buffer, position: number): Promise<void>;
  /** The size so far: the highest byte written. */
  readonly size: number;
  /** Flushes, makes durable (fsync), and files the bytes under a new key. The durability point. */
  commit(): Promise<StoredObject>;
  /** Throws the bytes away. */
  abort(): Promise<void>;
}

export interface StoredObject {
  key: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

/** Random-access reads of a stored object. */
export interface ObjectReader {
  readonly size: number;
  /** Up to `length` bytes from `position`; fewer (or none) at the end. */
  read(position: number, length: number): Promise<Buffer>;
  /**
   * Like read, but lends the bytes to `use` instead of returning them: `use` must not keep them (the memory is
   * reused once it returns), which spares a new buffer and a copy per block. Optional; callers fall back to
   * read.
   */
  readWith?(position: number, length: number, use: (data: Buffer) => void): Promise<void>;
  /** Up to `target.length` bytes from `position` into `target`; the count (fewer, or 0, at the end). Optional. */
  readInto?(target: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface FileStore {
  /**
   * A new upload. `owner` (an account id) lets a store share its upload memory fairly between accounts (the
   * S3 store's part buffers); the local store ignores it.
   */
  create(owner?: string): Promise<Upload>;
  open(key: string): Promise<ObjectReader>;
  remove(key: string): Promise<void>;
  /** Removes uploads (never committed) last written before `before`; returns how many. */
  removeStaleUploads(before: Date): Promise<number>;
  /**
   * Keys of committed objects made at or after `from` (the time in their key) and last changed before
   * `before`, in batches (for the sweep of orphans: only recent objects are looked at, however many the store
   * holds).
   */
  objectsBetween(from: Date, before: Date): AsyncIterable<string[]>;
  /**
   * A URL that serves the object for `seconds` to whoever has it, as a download named `fileName` (object
   * stores sign one; the local store has none: Ferry serves the bytes itself).
   */
  presign?(key: string, fileName: string, seconds: number): Promise<string>;
}

const STREAM_CHUNK = 1024 * 1024;

/**
 * A readable stream of an object from `start`, 1 MiB at a time, the next MiB read while the current one is
 * consumed (objects often come from disk, not the page cache: direct I/O); closes the reader when done or
 * destroyed.
 */
export function objectStream(reader: ObjectReader, start = 0): Readable {
  return chunkStream(reader, start, (at) => reader.read(at, STREAM_CHUNK));
}

/**
 * Like objectStream, but its chunks are lent: three 1 MiB buffers used in turn, so a download allocates 3 MiB
 * instead of a buffer per MiB (each one is V8 external memory: on a plain-FTP download, garbage collection took
 * half the CPU). Only for consumers that are done with a chunk once they take the next one: FTP's RETR
 * pauses on each chunk and resumes on its socket write's callback; `pipe` waits for "drain". With three
 * buffers, the one read ahead into is two chunks behind the one being written. The buffers are not reused
 * after the stream ends (the last writes may still be queued): they are garbage then, like any other.
 */
export function lendingStream(reader: ObjectReader, start = 0): Readable {
  const readInto = reader.readInto?.bind(reader);
  if (!readInto) return objectStream(reader, start);
  const buffers = [0, 1, 2].map(() => Buffer.allocUnsafeSlow(STREAM_CHUNK));
  let turn = 0;
  return chunkStream(reader, start, (at) => {
    const buffer = buffers[turn++ % buffers.length]!;
    return readInto(buffer, at).then((got) => buffer.subarray(0, got));
  });
}

/** The stream of `readChunk(at)` for at = start, start + 1 MiB…, one chunk read ahead, until a short one. */
function chunkStream(
  reader: ObjectReader,
  start: number,
  readChunk: (at: number) => Promise<Buffer>,
): Readable {
  let nextAt = start;
  let ahead: Promise<Buffer> | undefined;
  let closed = false;
  const fetch = () => {
    const chunk = readChunk(nextAt);
    nextAt += STREAM_CHUNK;
    // Awaited by the next read(); if the stream is destroyed first, nobody will: no unhandled rejection.
    chunk.catch(() => {});
    return chunk;
  };
  const close = async () => {
    if (!closed) {
      closed = true;
      await ahead?.catch(() => {});
      await reader.close();
    }
  };
  return new Readable({
    async read() {
      try {
        const chunk = await (ahead ?? fetch());
        // A short chunk is the end of the object: nothing more to read ahead.
        ahead = chunk.length === STREAM_CHUNK ? fetch() : undefined;
        if (chunk.length > 0) this.push(chunk);
        else {
          await close();
          this.push(null);
        }
      } catch (err) {
        this.destroy(coerceError(err));
      }
    },
    destroy(err, callback) {
      close().then(
        () => callback(err),
        (closeErr) => callback(err ?? closeErr),
      );
    },
  });
}

/** A reader whose bytes read out count in ferry_sent_bytes_total for `protocol` (its optional ways kept). */
export function countedReader(reader: ObjectReader, protocol: string): ObjectReader {
  const add = (n: number) => bytesSent.inc({ protocol }, n);
  const { readWith, readInto } = reader;
  return {
    size: reader.size,
    async read(position, length) {
      const bytes = await reader.read(position, length);
      add(bytes.length);
      return bytes;
    },
    ...(readWith
      ? {
          readWith: (position: number, length: number, use: (data: Buffer) => void) =>
            readWith.call(reader, position, length, (data) => {
              add(data.length);
              use(data);
            }),
        }
      : {}),
    ...(readInto
      ? {
          async readInto(target: Buffer, position: number) {
            const n = await readInto.call(reader, target, position);
            add(n);
            return n;
          },
        }
      : {}),
    close: () => reader.close(),
  };
}
