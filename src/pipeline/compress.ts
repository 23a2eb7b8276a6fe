/**
 * Files Ferry writes, compressed as a connection asks: gzip (`.gz`), or a zip archive holding the one file
 * (`.zip`) for the people whose tools open zips and not gzip. Streamed: memory stays flat however big the file.
 */
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import yazl from "yazl";

import type { Compression } from "../domain/file-names.js";

/**
 * `content` compressed; for zip, as one entry named `entryName` (sizes in a data descriptor, zip64 when big).
 * An error of `content` ends the returned stream with it.
 */
export function compressed(content: Readable, compression: Compression, entryName: string): Readable {
  if (compression === "none") return content;
  if (compression === "gzip") {
    const out = new PassThrough();
    pipeline(content, createGzip(), out).catch((err: Error) => out.destroy(err));
    return out;
  }
  const zip = new yazl.ZipFile();
  const output = zip.outputStream as Readable;
  zip.on("error", (err: Error) => output.destroy(err));
  content.on("error", (err: Error) => output.destroy(err));
  zip.addReadStream(content, entryName, { mtime: new Date() });
  zip.end();
  return output;
}
