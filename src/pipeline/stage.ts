/**
 * Reading a stored file's records and COPYing them, through the data type's stager, into the temporary
 * `stage` table of the processing transaction.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { type Binding, bindHeader } from "../datatypes/columns.js";
import { FileProblem } from "../datatypes/problems.js";
import type { Context, InboundType, StagedRow } from "../datatypes/types.js";
import type { FileDelimiter, FileEncoding } from "../domain/connection-rules.js";
import type { PgpReading } from "./pgp.js";
import type { RecordEvent } from "./records.js";
import { delimitedSource, type Source } from "./source.js";
import type { FileStore } from "./store.js";
import { textOf, type UnpackLimits } from "./unpack.js";
import { xmlSource } from "./xml.js";

export interface ProcessLimits {
  /** Longest record, in characters; longer ones are row errors. */
  maxLineChars: number;
  unpack: UnpackLimits;
}

/** Where a file's bytes are and how far reading it may go. */
export interface FileAccess {
  store: FileStore;
  limits: ProcessLimits;
}

/** A transfer's file: its store key (null once retention removed the bytes) and its name. */
export interface StoredFile {
  storeKey: string | null;
  fileName: string;
  /** How the connection reads its files. (Default: auto) */
  encoding?: FileEncoding;
  delimiter?: FileDelimiter;
  /** How OpenPGP files are read (decrypted, signature checked); without it they are not recognised. */
  pgp?: PgpReading | undefined;
}

/** The records of the transfer's file; `close` releases the file whatever happened to the reading. */
export async function openSource(
  deps: FileAccess,
  file: StoredFile,
  type: InboundType,
): Promise<{ source: Source; close: () => Promise<void> }> {
  if (!file.storeKey) throw new FileProblem("CONTENT_GONE", "The file's content is no longer kept");
  const reader = await deps.store.open(file.storeKey);
  try {
    const text = textOf(reader, deps.limits.unpack, file.encoding ?? "auto", file.pgp);
    const source =
      type.xml && /\.xml(\.gz|\.zip)?$/i.test(file.fileName)
        ? await xmlSource(text, type.columns, type.xml.records)
        : await delimitedSource(text, file.fileName, type.columns, deps.limits.maxLineChars, file.delimiter);
    return { source, close: () => reader.close() };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

const esc = (v: string | null): string =>
  v === null ? "\\N" : /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : v;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

/** COPYs every record of the file into a temporary `stage` table; returns the header binding. */
export async function stage(
  deps: FileAccess,
  client: pg.PoolClient,
  file: StoredFile,
  type: InboundType,
  ctx: Context,
): Promise<{ binding: Binding; timings: Record<string, number> }> {
  const { source, close } = await openSource(deps, file, type);
  try {
    return await stageSource(client, type, ctx, source, deps.limits.maxLineChars);
  } finally {
    await close();
  }
}

async function stageSource(
  client: pg.PoolClient,
  type: InboundType,
  ctx: Context,
  source: Source,
  maxLineChars: number,
): Promise<{ binding: Binding; timings: Record<string, number> }> {
  const binding = bindHeader(type.columns, source.header);
  const stager = type.stager(binding, ctx);
  const cols = type.staging.map(([name, sqlType]) => `${name} ${sqlType}`).join(", ");
  await client.query(
    `CREATE TEMP TABLE stage (line int, last_line int, rows int, error_type text, error_message text, ${cols})
     ON COMMIT DROP`,
  );
  const nulls = type.staging.map(() => "\\N").join("\t");
  const line = (r: StagedRow) => {
    let text = `${r.line}\t${r.lastLine}\t${r.rows}\t${esc(r.error?.code ?? null)}\t${esc(r.error?.message ?? null)}\t`;
    if (!r.values) return `${text}${nulls}\n`;
    const v = r.values;
    for (let i = 0; i < v.length; i++) text += i === 0 ? esc(v[i]!) : `\t${esc(v[i]!)}`;
    return `${text}\n`;
  };
  // Nothing of a batch stays referenced while the generator waits for COPY: what lives across that wait is
  // promoted to V8's old generation, which is collected lazily (RSS grew by the file's size otherwise).
  let readingMs = 0;
  async function* copyText(): AsyncGenerator<string> {
    let out: string[] = [];
    const emit = (r: StagedRow) => out.push(line(r));
    const take = () => {
      const text = out.join("");
      out = [];
      return text;
    };
    const batches = source.batches[Symbol.asyncIterator]();
    for (;;) {
      const started = performance.now();
      let next: IteratorResult<RecordEvent[]> | null = await batches.next();
      if (next.done) break;
      for (const e of next.value) {
        if (e.kind === "record") stager.push(e.line, e.fields, emit);
        else {
          stager.flush(emit);
          emit(eventError(e, maxLineChars));
        }
      }
      next = null;
      readingMs += performance.now() - started;
      if (out.length) yield take();
    }
    stager.flush(emit);
    if (out.length) yield take();
  }
  const copy = client.query(
    copyFrom(
      `COPY stage (line, last_line, rows, error_type, error_message, ${type.staging.map(([n]) => n).join(", ")}) FROM STDIN`,
    ),
  );
  // One batch in flight: batches waiting in a queue live long enough to be promoted to the old generation,
  // which V8 collects lazily (RSS grew past 400 MB on a 0.4 GB catalog with the default 16).
  const copyStarted = performance.now();
  await pipeline(Readable.from(copyText(), { highWaterMark: 1 }), copy);
  const copyMs = performance.now() - copyStarted;
  const analyseStarted = performance.now();
  // Statistics for the joins that resolve the rows; not of jsonb columns (an item-level file's items), which
  // nothing filters or joins on and which cost most of the ANALYZE: 0.71 → 0.16 s per 100,000 orders.
  const analysed = ["line", "last_line", "rows", "error_type"].concat(
    type.staging.filter(([, sqlType]) => sqlType !== "jsonb").map(([name]) => name),
  );
  await client.query(`ANALYZE stage (${analysed.join(", ")})`);
  return {
    binding,
    // Where the stage's time went: reading (Node: unpack, decode, parse, validate, the COPY text), the COPY as
    // a whole (reading included: what it does not overlap is the database's), the statistics.
    timings: {
      readMs: Math.round(readingMs),
      copyMs: Math.round(copyMs),
      analyseMs: Math.round(performance.now() - analyseStarted),
    },
  };
}

function eventError(e: Exclude<RecordEvent, { kind: "record" }>, max: number): StagedRow {
  const error =
    e.kind === "too_long"
      ? {
          code: "LINE_TOO_LONG",
          message: `The row is ${e.chars} characters long; at most ${max} are allowed`,
        }
      : {
          code: "UNTERMINATED_QUOTE",
          message: "A quoted field is not closed before the end of the file (truncated?)",
        };
  return { line: e.line, lastLine: e.line, rows: 1, error, values: null };
}
