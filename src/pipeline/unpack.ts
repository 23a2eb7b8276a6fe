/**
 * From a stored object to checked text: unpacks `.gz` and single-entry `.zip` (recognised by their magic
 * bytes, whatever the name says), decodes it from its encoding (encoding.ts: the connection's, or detected),
 * refuses binaries and bytes that are not of that encoding with one clear error, strips a BOM, and stops
 * archives that expand beyond reason (zip bombs).
 */

import { createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import yauzl from "yauzl";
import { FileProblem } from "../datatypes/problems.js";
import type { FileEncoding } from "../domain/connection-rules.js";
import { coerceError, messageOf } from "../thrown.js";
import { type Decided, decideEncoding, SAMPLE_BYTES } from "./encoding.js";
import { decrypted, openPgpKind, type PgpReading } from "./pgp.js";
import { type ObjectReader, objectStream } from "./store.js";

export interface UnpackLimits {
  /** Largest unpacked size, in bytes. */
  maxUnpackedBytes: number;
  /** Largest expansion of an archive (unpacked / packed so far) once past RATIO_GRACE unpacked. */
  maxRatio: number;
}

/**
 * Unpacked bytes before the ratio is judged. The ratio compares what came out with what went in so far,
 * not with the whole archive: a bomb padded with incompressible bytes (a 5.8 MB gzip once kept a worker busy
 * 80 s, its whole-file ratio under the limit) is stopped after a few MiB, within seconds.
 */
const RATIO_GRACE = 8 * 1024 * 1024;

/**
 * The default largest expansion: CSV of repetitive rows gzips 10–30 times, a sparse one up to ~100; 200
 * leaves room and still stops a bomb (1,000 times and more) after a few MiB.
 */
export const MAX_UNPACK_RATIO = 200;

/**
 * The text of a stored file, in chunks, read in `encoding` ("auto": detected; Ferry's own files are
 * "utf-8"). Throws FileProblem for anything that is not text in that encoding.
 */
export async function* textOf(
  reader: ObjectReader,
  limits: UnpackLimits,
  encoding: FileEncoding = "utf-8",
  pgp?: PgpReading,
): AsyncGenerator<string> {
  const head = await reader.read(0, 64);
  let bytes: Readable;
  /** Packed bytes taken in so far (null: not an archive). */
  let packedIn: (() => number) | null = null;
  let spilled: ObjectReader | null = null;
  let decryptedStream: Readable | null = null;
  const kind = pgp ? openPgpKind(head) : null;
  if (kind) {
    // Decrypted first; what is inside may be gzip or zip in turn. The ratio then compares with the encrypted
    // bytes read, so a bomb in OpenPGP's own compression is stopped like any other.
    let read = 0;
    const ciphertext = objectStream(reader).pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          read += chunk.length;
          done(null, chunk);
        },
      }),
    );
    const plain = await decrypted(ciphertext, kind, pgp!, limits.maxUnpackedBytes);
    decryptedStream = plain;
    const [inner, rest] = await peek(plain, 4);
    packedIn = () => read;
    if (inner[0] === 0x1f && inner[1] === 0x8b) {
      bytes = rest.pipe(createGunzip());
      rest.on("error", (err) => bytes.destroy(err));
    } else if (inner.length === 4 && inner.readUInt32LE(0) === 0x04034b50) {
      // A zip is read from its end: the decrypted archive goes to a temporary file first.
      spilled = await spill(rest);
      try {
        bytes = await zipEntry(spilled, { bytes: 0 });
      } catch (err) {
        await spilled.close();
        throw err;
      }
    } else bytes = rest;
  } else if (pgp?.required) {
    throw new FileProblem(
      "PGP_NOT_ENCRYPTED",
      "The file is not OpenPGP-encrypted, and this connection requires encryption; encrypt it to the account's public PGP key",
    );
  } else if (pgp?.signedBy) {
    throw new FileProblem(
      "PGP_NOT_SIGNED",
      "The file is not an OpenPGP message, and this connection requires it signed with the partner's key (gpg --sign, or --encrypt --sign)",
    );
  } else if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    bytes = objectStream(reader).pipe(gunzip);
    // What the inflater consumed, not what was read ahead for it.
    packedIn = () => gunzip.bytesWritten;
  } else if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) {
    const counted = { bytes: 0 };
    bytes = await zipEntry(reader, counted);
    packedIn = () => counted.bytes;
  } else {
    bytes = objectStream(reader);
  }
  let total = 0;
  let lines = 0;
  /** The start of the file, kept until it is long enough to tell the encoding. */
  let sample: Buffer[] | null = [];
  let sampled = 0;
  let decided: Decided | null = null;
  let decoder: TextDecoder | null = null;
  const decode = (chunk: Buffer): string => {
    try {
      const text = decoder!.decode(chunk, { stream: true });
      for (let k = text.indexOf("\n"); k !== -1; k = text.indexOf("\n", k + 1)) lines++;
      return text;
    } catch {
      throw new FileProblem(
        "INVALID_ENCODING",
        `The file is not valid ${decided!.name} (line ${lines + badLine(chunk, decided!.label)})${
          decided!.detected ? `: its start reads as ${decided!.name}, so it mixes encodings` : ""
        }; save it in one encoding (UTF-8)${decided!.detected ? "" : ", or change the connection's encoding"}`,
      );
    }
  };
  const choose = (complete: boolean) => {
    const start = Buffer.concat(sample!);
    sample = null;
    decided = decideEncoding(start, encoding, complete);
    decoder = new TextDecoder(decided.label, { fatal: true });
    return decode(start);
  };
  try {
    for await (const chunk of bytes as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limits.maxUnpackedBytes) {
        throw new FileProblem(
          "FILE_TOO_LARGE",
          `The file unpacks to more than ${limits.maxUnpackedBytes} bytes, the limit`,
        );
      }
      if (packedIn && total > RATIO_GRACE && total > limits.maxRatio * Math.max(packedIn(), 1)) {
        throw new FileProblem(
          "ARCHIVE_BOMB",
          `The archive expands more than ${limits.maxRatio} times (${packedIn()} bytes packed became ${total}); it is refused as a possible zip bomb`,
        );
      }
      let text: string;
      if (sample) {
        sample.push(chunk);
        sampled += chunk.length;
        if (sampled < SAMPLE_BYTES) continue;
        text = choose(false);
      } else text = decode(chunk);
      if (text.length) yield text;
    }
    if (sample) {
      const text = choose(true);
      if (text.length) yield text;
    }
    try {
      const rest = decoder!.decode();
      if (rest.length) yield rest;
    } catch {
      throw new FileProblem(
        "INVALID_ENCODING",
        `The file ends in the middle of a ${(decided as Decided | null)?.name ?? "UTF-8"} character`,
      );
    }
  } catch (err) {
    // Plaintext is read before the message's integrity check at its end, so an altered message usually fails
    // first as bad text or a damaged archive: its real problem is the OpenPGP one found by reading on.
    // The message is read again, on its own, to its end: what is left of this reading depends on how far the
    // streams between had read ahead.
    if (kind && !(err instanceof FileProblem && err.code.startsWith("PGP_"))) {
      const problem = await pgpProblemOf(reader, kind, pgp!, limits.maxUnpackedBytes);
      if (problem) throw problem;
    }
    if (err instanceof FileProblem) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code?.startsWith("Z_")) {
      throw new FileProblem("BAD_ARCHIVE", `The gzip data is damaged or truncated (${code})`);
    }
    throw err;
  } finally {
    bytes.destroy();
    decryptedStream?.destroy();
    await spilled?.close();
  }
}

/** The OpenPGP problem a message ends with when read to its end (decrypted, signature judged), or null. */
async function pgpProblemOf(
  reader: ObjectReader,
  kind: "armored" | "binary",
  pgp: PgpReading,
  maxBytes: number,
): Promise<FileProblem | null> {
  try {
    for await (const _ of await decrypted(objectStream(reader), kind, pgp, maxBytes));
    return null;
  } catch (err) {
    return err instanceof FileProblem && err.code.startsWith("PGP_") ? err : null;
  }
}

/** The first `n` bytes of a stream (fewer if it is shorter), and a stream of all of it, those bytes included. */
async function peek(stream: Readable, n: number): Promise<[Buffer, Readable]> {
  const it = stream[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let got = 0;
  let done = false;
  while (got < n) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    taken.push(next.value as Buffer);
    got += (next.value as Buffer).length;
  }
  const head = Buffer.concat(taken);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value as Buffer;
  }
  return [head.subarray(0, n), Readable.from(all(), { objectMode: false, highWaterMark: 1 })];
}

/** A stream written to a temporary file (removed on close), read back through the ObjectReader interface. */
async function spill(stream: Readable): Promise<ObjectReader> {
  const dir = await mkdtemp(path.join(tmpdir(), "ferry-unpack-"));
  const file = path.join(dir, "archive");
  try {
    await pipeline(stream, createWriteStream(file, { mode: 0o600 }));
    const handle = await open(file, "r");
    const { size } = await handle.stat();
    return {
      size,
      async read(position, length) {
        const buffer = Buffer.alloc(Math.max(0, Math.min(length, size - position)));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        return buffer.subarray(0, bytesRead);
      },
      async close() {
        await handle.close().catch(() => {});
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The line (1-based, within the chunk) of the first byte that is not of the encoding. */
function badLine(chunk: Buffer, label: string): number {
  const decoded = new TextDecoder(label).decode(chunk);
  const at = decoded.indexOf("\ufffd");
  let line = 1;
  for (let k = decoded.indexOf("\n"); k !== -1 && (at === -1 || k < at); k = decoded.indexOf("\n", k + 1))
    line++;
  return line;
}

/** The one file inside a zip archive, read through the store's random access (bytes read: `counted`). */
async function zipEntry(reader: ObjectReader, counted: { bytes: number }): Promise<Readable> {
  class StoreReader extends yauzl.RandomAccessReader {
    override _readStreamForRange(start: number, end: number): Readable {
      let position = start;
      return new Readable({
        async read() {
          try {
            if (position >= end) return void this.push(null);
            const chunk = await reader.read(position, Math.min(1024 * 1024, end - position));
            if (chunk.length === 0) return void this.destroy(new Error("unexpected end of the archive"));
            position += chunk.length;
            counted.bytes += chunk.length;
            this.push(chunk);
          } catch (err) {
            this.destroy(coerceError(err));
          }
        },
      });
    }
  }
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(new StoreReader(), reader.size, {
      lazyEntries: true,
      autoClose: false,
    });
  } catch (err) {
    throw new FileProblem("BAD_ARCHIVE", `The zip archive cannot be read: ${messageOf(err)}`);
  }
  const files: yauzl.Entry[] = [];
  for (let entry = await nextEntry(zip); entry; entry = await nextEntry(zip)) {
    const name = entry.fileName;
    if (!name.endsWith("/") && !name.startsWith("__MACOSX/")) files.push(entry);
    if (files.length > 1) break;
  }
  if (files.length !== 1) {
    zip.close();
    throw new FileProblem(
      "BAD_ARCHIVE",
      files.length === 0
        ? "The zip archive holds no file"
        : "The zip archive holds more than one file; put exactly one file in it",
    );
  }
  try {
    const stream = await zip.openReadStreamPromise(files[0]!);
    stream.on("close", () => zip.close());
    return stream;
  } catch (err) {
    zip.close();
    throw new FileProblem("BAD_ARCHIVE", `The zip archive cannot be read: ${messageOf(err)}`);
  }
}

/** The next entry of a lazily read archive, or null at its end. */
function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      zip.off("entry", onEntry).off("end", onEnd).off("error", onError);
      fn();
    };
    const onEntry = (e: yauzl.Entry) => done(() => resolve(e));
    const onEnd = () => done(() => resolve(null));
    const onError = (err: Error) =>
      done(() => reject(new FileProblem("BAD_ARCHIVE", `The zip archive cannot be read: ${err.message}`)));
    zip.on("entry", onEntry).on("end", onEnd).on("error", onError);
    zip.readEntry();
  });
}
