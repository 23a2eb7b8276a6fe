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
import type { Context, Emit, InboundType, StagedRow, Stager } from "../datatypes/types.js";
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
  /** How big the parts are of a file applied a part at a time (default PARTS). */
  parts?: PartSizes;
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

/** Creates the processing transaction's temporary `stage` table for `type`. */
async function createStage(client: pg.ClientBase, type: InboundType): Promise<void> {
  const cols = type.staging.map(([name, sqlType]) => `${name} ${sqlType}`).join(", ");
  await client.query(
    `CREATE TEMP TABLE stage (line int, last_line int, rows int, error_type text, error_message text, ${cols})
     ON COMMIT DROP`,
  );
}

/** The COPY into `stage` (text format). */
const copyStage = (type: InboundType) =>
  copyFrom(
    `COPY stage (line, last_line, rows, error_type, error_message, ${type.staging.map(([n]) => n).join(", ")}) FROM STDIN`,
  );

/** Statistics of `stage` for the joins that resolve its rows. */
async function analyseStage(client: pg.ClientBase, type: InboundType): Promise<void> {
  // Not of jsonb columns (an item-level file's items), which nothing filters or joins on and which cost most
  // of the ANALYZE: 0.71 → 0.16 s per 100,000 orders.
  const analysed = ["line", "last_line", "rows", "error_type"].concat(
    type.staging.filter(([, sqlType]) => sqlType !== "jsonb").map(([name]) => name),
  );
  await client.query(`ANALYZE stage (${analysed.join(", ")})`);
}

/** A staged row as a line of COPY text. */
function copyLine(type: InboundType): (r: StagedRow) => string {
  const nulls = type.staging.map(() => "\\N").join("\t");
  return (r) => {
    let text = `${r.line}\t${r.lastLine}\t${r.rows}\t${esc(r.error?.code ?? null)}\t${esc(r.error?.message ?? null)}\t`;
    if (!r.values) return `${text}${nulls}\n`;
    const v = r.values;
    for (let i = 0; i < v.length; i++) text += i === 0 ? esc(v[i]!) : `\t${esc(v[i]!)}`;
    return `${text}\n`;
  };
}

/** Hands a batch of records to the stager (a record-level problem becomes a staged row in error). */
function stagerFeed(stager: Stager, maxLineChars: number, emit: Emit) {
  return (batch: RecordEvent[]) => {
    for (const e of batch) {
      if (e.kind === "record") stager.push(e.line, e.fields, emit);
      else {
        stager.flush(emit);
        emit(eventError(e, maxLineChars));
      }
    }
  };
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
  await createStage(client, type);
  const line = copyLine(type);
  // Nothing of a batch stays referenced while the generator waits for COPY: what lives across that wait is
  // promoted to V8's old generation, which is collected lazily (RSS grew by the file's size otherwise).
  let readingMs = 0;
  async function* copyText(): AsyncGenerator<string> {
    let out: string[] = [];
    const emit = (r: StagedRow) => out.push(line(r));
    const feed = stagerFeed(stager, maxLineChars, emit);
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
      feed(next.value);
      next = null;
      readingMs += performance.now() - started;
      if (out.length) yield take();
    }
    stager.flush(emit);
    if (out.length) yield take();
  }
  // One batch in flight: batches waiting in a queue live long enough to be promoted to the old generation,
  // which V8 collects lazily (RSS grew past 400 MB on a 0.4 GB catalog with the default 16).
  const copyStarted = performance.now();
  await pipeline(Readable.from(copyText(), { highWaterMark: 1 }), client.query(copyStage(type)));
  const copyMs = performance.now() - copyStarted;
  const analyseStarted = performance.now();
  await analyseStage(client, type);
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

/**
 * How big the parts of a file staged one at a time are: the first is small, so the database starts early,
 * and each next one twice the last, up to a limit of rows and of COPY text held in memory.
 */
export interface PartSizes {
  firstRows: number;
  maxRows: number;
  maxChars: number;
}

export const PARTS: PartSizes = { firstRows: 25_000, maxRows: 400_000, maxChars: 48 * 1024 * 1024 };

/**
 * Stages the file a part at a time, in file order: each part is COPYed into `stage` (made for the first part,
 * emptied after each) and handed to `onPart` (which resolves and applies it, in the same transaction), while
 * the next part is read, parsed and checked meanwhile: Node's work on the file overlaps the database's on the
 * part before. Returns the header binding, the data lines read and where the time went.
 */
export async function stageInParts(
  deps: FileAccess,
  client: pg.PoolClient,
  file: StoredFile,
  type: InboundType,
  ctx: Context,
  onPart: () => Promise<void>,
): Promise<{ binding: Binding; lines: number; timings: Record<string, number> }> {
  const { source, close } = await openSource(deps, file, type);
  try {
    const binding = bindHeader(type.columns, source.header);
    const stager = type.stager(binding, ctx);
    const timings = { parts: 0, readMs: 0, waitMs: 0, copyMs: 0, analyseMs: 0, lines: 0 };
    const parts = ahead(
      copyParts(
        source,
        stager,
        copyLine(type),
        deps.limits.maxLineChars,
        deps.limits.parts ?? PARTS,
        timings,
      ),
    );
    try {
      await stageParts();
    } finally {
      // A part that failed ends the reading too (after the part being read).
      await parts.return(undefined);
    }
    async function stageParts() {
      for (;;) {
        const waited = performance.now();
        const next = await parts.next();
        timings.waitMs += performance.now() - waited;
        if (next.done) return;
        const copyStarted = performance.now();
        if (timings.parts === 0) await createStage(client, type);
        await pipeline(Readable.from(next.value, { highWaterMark: 1 }), client.query(copyStage(type)));
        timings.copyMs += performance.now() - copyStarted;
        // Statistics of the first part serve the rest (TRUNCATE keeps them; the planner counts the rows from
        // the table's size): an ANALYZE per part cost 0.2 s each, 1.1 s of a million-row file.
        if (timings.parts === 0) {
          const analyseStarted = performance.now();
          await analyseStage(client, type);
          timings.analyseMs += performance.now() - analyseStarted;
        }
        timings.parts++;
        await onPart();
        await client.query("TRUNCATE stage");
      }
    }
    const { lines, ...times } = timings;
    return {
      binding,
      lines,
      // Reading is Node's (unpack, decode, parse, check, the COPY text), overlapping the database's work except
      // where the database waited for it (waitMs); copyMs is the parts' COPYs, analyseMs the first's statistics.
      timings: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Math.round(v)])),
    };
  } finally {
    await close();
  }
}

/**
 * The staged rows of the source as COPY text, a part of the file at a time (see PartSizes); a part ends
 * between two staged rows (an item-level order is never split).
 */
async function* copyParts(
  source: Source,
  stager: Stager,
  line: (r: StagedRow) => string,
  maxLineChars: number,
  sizes: PartSizes,
  timings: { readMs: number; lines: number },
): AsyncGenerator<Buffer[]> {
  const ready: Buffer[][] = [];
  let texts: Buffer[] = [];
  let out: string[] = [];
  let rows = 0;
  let chars = 0;
  let target = sizes.firstRows;
  // One buffer per batch, outside V8's heap: a part waits for the database long enough to be promoted to the
  // old generation, and as strings it made the garbage collector the main cost of reading the file (5 of 10 s).
  const endBatch = () => {
    if (out.length) texts.push(Buffer.from(out.join("")));
    out = [];
  };
  const emit = (r: StagedRow) => {
    const text = line(r);
    out.push(text);
    rows++;
    timings.lines += r.rows;
    chars += text.length;
    if (rows >= target || chars >= sizes.maxChars) {
      endBatch();
      ready.push(texts);
      texts = [];
      rows = 0;
      chars = 0;
      target = Math.min(target * 2, sizes.maxRows);
    }
  };
  const feed = stagerFeed(stager, maxLineChars, emit);
  const batches = source.batches[Symbol.asyncIterator]();
  for (;;) {
    const started = performance.now();
    const next = await batches.next();
    if (next.done) break;
    feed(next.value);
    endBatch();
    timings.readMs += performance.now() - started;
    while (ready.length) yield ready.shift()!;
  }
  stager.flush(emit);
  endBatch();
  if (texts.length) ready.push(texts);
  while (ready.length) yield ready.shift()!;
}

/**
 * The generator's values, each asked for as soon as the one before is handed out: the next part of a file is
 * read while the caller works on this one. Returning early ends the generator (after the part it is reading).
 */
async function* ahead<T>(generator: AsyncGenerator<T>): AsyncGenerator<T> {
  const ask = () => {
    const p = generator.next();
    // Seen when awaited; not an unhandled rejection while the caller works on the part before.
    p.catch(() => {});
    return p;
  };
  let next = ask();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = ask();
      yield r.value;
    }
  } finally {
    await generator.return(undefined).catch(() => {});
  }
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
