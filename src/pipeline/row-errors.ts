/**
 * A page of a processed file's refused rows, read from its errors file (Line, the row's own fields,
 * ErrorType, ErrorMessage): for the web UI and API clients that show them without parsing CSV themselves.
 * The errors file is the one record of them; a page after `afterLine` reads the file from its start up to
 * there, so deep pages cost more — the whole file stays a download. A gzipped or zipped errors file is read
 * through the same unpacking as received files.
 */
import { RecordReader } from "./records.js";
import type { FileStore } from "./store.js";
import { textOf, type UnpackLimits } from "./unpack.js";

export interface RowError {
  /** The row's line in the original file. */
  line: number;
  errorType: string;
  message: string;
  /** The row's fields as the file had them (values a spreadsheet would run as formulas begin with '). */
  fields: string[];
}

export interface RowErrorPage {
  /** The original file's header. */
  header: string[];
  items: RowError[];
  /** The line to pass as `afterLine` for the next page; null on the last page. */
  nextLine: number | null;
}

/** Ferry's own file: no limit on its size or how well it compresses (rows of one error repeat a lot). */
const OWN_FILE: UnpackLimits = {
  maxUnpackedBytes: Number.MAX_SAFE_INTEGER,
  maxRatio: Number.POSITIVE_INFINITY,
};

/** Longest errors-file record read (the processing limit on a line is below this). */
const MAX_RECORD_CHARS = 4 * 1024 * 1024;

export async function readRowErrors(
  store: FileStore,
  key: string,
  page: { afterLine: number; limit: number },
): Promise<RowErrorPage> {
  const reader = await store.open(key);
  const records = new RecordReader(",", MAX_RECORD_CHARS);
  let header: string[] | null = null;
  const items: RowError[] = [];
  let more = false;
  const take = (e: Parameters<Parameters<RecordReader["push"]>[1]>[0]) => {
    if (e.kind !== "record" || more) return;
    if (!header) {
      header = e.fields.slice(1, -2);
      return;
    }
    const line = Number(e.fields[0]);
    if (!(line > page.afterLine)) return;
    if (items.length === page.limit) {
      more = true;
      return;
    }
    const n = e.fields.length;
    items.push({
      line,
      errorType: e.fields[n - 2]!,
      message: e.fields[n - 1]!,
      fields: e.fields.slice(1, n - 2),
    });
  };
  try {
    for await (const text of textOf(reader, OWN_FILE)) {
      records.push(text, take);
      if (more) break;
    }
    if (!more) records.end(take);
  } finally {
    await reader.close();
  }
  return { header: header ?? [], items, nextLine: more ? items[items.length - 1]!.line : null };
}
