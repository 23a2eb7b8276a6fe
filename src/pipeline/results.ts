/** Result files of an inbound file: names, the summary's shape, and writing them to the store. */
import type { Readable } from "node:stream";
import { type Compression, compressedName } from "../domain/file-names.js";
import type { FileStore } from "./store.js";

/** What a sender learns about a file when it is done (`<name>_summary.json`). */
export interface Summary {
  transferId: string;
  /** The id to quote to support: the Transfer's id, also in the receipt. */
  traceId: string;
  file: string;
  sha256: string;
  size: number;
  connection: { id: string; name: string };
  dataType: string;
  status: "processed" | "partial" | "rejected" | "validated" | "failed" | "duplicate";
  validateOnly: boolean;
  allOrNothing: boolean;
  rows: { total: number; ok: number; error: number; duplicate: number };
  /** Objects created or changed in the platform's data. */
  applied: number;
  error: { code: string; message: string } | null;
  errorsFile: string | null;
  warnings: string[];
  receivedAt: string;
  startedAt: string;
  finishedAt: string;
  /** Milliseconds per phase: stage (read + COPY), resolve, apply, errors (the errors file). */
  timings?: Record<string, number>;
}

/**
 * `receipt_<name>.txt`, `<name>_summary.json` and `<name>_errors.csv`, where <name> is the file name without
 * its extensions (conversions_0301.csv.gz → conversions_0301); the errors file `<name>_errors.csv.gz` or
 * `<name>_errors.csv.zip` when the connection compresses it (`errorsCsv`: the name inside a zip).
 */
export function resultNames(
  fileName: string,
  errorsCompression: Compression = "none",
): { receipt: string; summary: string; errors: string; errorsCsv: string } {
  const stem = fileName.replace(/(\.(gz|zip))?$/i, "").replace(/\.[A-Za-z0-9]{1,5}$/, "") || fileName;
  const errorsCsv = `${stem}_errors.csv`;
  return {
    receipt: `receipt_${stem}.txt`,
    summary: `${stem}_summary.json`,
    errors: compressedName(errorsCsv, errorsCompression),
    errorsCsv,
  };
}

/**
 * CSV that customers open in a spreadsheet (errors files, the audit export): RFC 4180 with CRLF, and a cell that
 * would run as a formula (= + - @, a tab or CR first, or their full-width forms) gets a leading apostrophe
 * (OWASP's advice on CSV injection), which spreadsheets show as text. csv-stringify's options.
 */
export const SPREADSHEET_CSV = { record_delimiter: "\r\n", escape_formulas: true } as const;

/** Streams text or bytes into a new store object; returns its key and size. */
export async function writeObject(
  store: FileStore,
  content: Readable,
): Promise<{ key: string; size: number }> {
  const upload = await store.create();
  try {
    let position = 0;
    for await (const chunk of content) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      await upload.write(buf, position);
      position += buf.length;
    }
    const object = await upload.commit();
    return { key: object.key, size: object.size };
  } catch (err) {
    await upload.abort().catch(() => {});
    throw err;
  }
}
