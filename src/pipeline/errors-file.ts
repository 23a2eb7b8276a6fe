/**
 * The errors file of a processed file: `Line`, the original fields, `ErrorType`, `ErrorMessage`; gzipped or
 * zipped when the connection asks (a million refused rows make a CSV the size of the file sent).
 */
import { Readable } from "node:stream";
import { stringify } from "csv-stringify/sync";
import type pg from "pg";
import type { Binding } from "../datatypes/columns.js";
import type { InboundType } from "../datatypes/types.js";
import type { Compression } from "../domain/file-names.js";
import { compressed } from "./compress.js";
import { SPREADSHEET_CSV, writeObject } from "./results.js";
import type { Source } from "./source.js";
import { type FileAccess, openSource, type StoredFile } from "./stage.js";

/**
 * The errors file: every row that was not taken (in `as.table`: line, last_line, error_type, error_message),
 * with its line, its original fields, ErrorType and ErrorMessage. The file is read a second time for the original fields (only when there are errors), so
 * neither pass holds more than a batch in memory.
 */
export async function writeErrors(
  deps: FileAccess,
  client: pg.PoolClient,
  file: StoredFile,
  type: InboundType,
  binding: Binding,
  as: { compression: Compression; csvName: string; table: string },
): Promise<{ key: string; size: number }> {
  await client.query(`CREATE INDEX ON ${as.table} (line) WHERE error_type IS NOT NULL`);
  const { source, close } = await openSource(deps, file, type);
  try {
    return await writeErrorLines(deps, client, type, binding, source, as);
  } finally {
    await close();
  }
}

/** The errors file, a batch of rows at a time, as SPREADSHEET_CSV says (line numbers are numbers, never escaped). */
async function writeErrorLines(
  deps: FileAccess,
  client: pg.PoolClient,
  type: InboundType,
  binding: Binding,
  source: Source,
  as: { compression: Compression; csvName: string; table: string },
): Promise<{ key: string; size: number }> {
  const colIndex = new Map(type.columns.map((c, i) => [c.name, binding.index[i]!]));
  let page: { line: number; last_line: number; error_type: string; error_message: string | null }[] = [];
  let at = 0;
  let after = 0;
  const nextPage = async () => {
    const r = await client.query(
      `SELECT line, last_line, error_type, error_message FROM ${as.table}
       WHERE error_type IS NOT NULL AND line > $1 ORDER BY line LIMIT 5000`,
      [after],
    );
    page = r.rows;
    at = 0;
    if (page.length) after = page[page.length - 1]!.line;
  };
  await nextPage();
  async function* lines(): AsyncGenerator<string> {
    yield stringify([["Line", ...binding.header, "ErrorType", "ErrorMessage"]], SPREADSHEET_CSV);
    for await (const batch of source.batches) {
      const out: (string | number)[][] = [];
      for (const e of batch) {
        while (page.length && at < page.length && page[at]!.last_line < e.line) {
          at++;
          if (at === page.length) await nextPage();
        }
        const err = page[at];
        if (!err || err.line > e.line) continue;
        const fields = e.kind === "record" ? e.fields : binding.header.map(() => "");
        const field = (name: string) => {
          const i = colIndex.get(name);
          return i === undefined || i === -1 ? "" : (fields[i] ?? "").trim();
        };
        const message = err.error_message ?? type.messages[err.error_type]?.(field) ?? err.error_type;
        out.push([e.line, ...fields, err.error_type, message]);
      }
      if (out.length) yield stringify(out, SPREADSHEET_CSV);
    }
  }
  return writeObject(deps.store, compressed(Readable.from(lines()), as.compression, as.csvName));
}
