/**
 * The records of a delimited text file, in batches, after its header. The delimiter is the connection's, or
 * found from the header (the one under which most of the type's columns are recognised: comma, tab, pipe or
 * semicolon — Excel's CSV in many locales), so a `.txt` with tabs or a `.csv` with semicolons both work.
 */
import { type Column, normaliseName } from "../datatypes/columns.js";
import { FileProblem } from "../datatypes/problems.js";
import type { FileDelimiter } from "../domain/connection-rules.js";
import { type RecordEvent, RecordReader } from "./records.js";

export interface Source {
  header: string[];
  /** Batches of records (data rows only), in file order. */
  batches: AsyncGenerator<RecordEvent[]>;
}

const DELIMITERS = [",", "\t", "|", ";"] as const;
const CHARACTERS: Record<Exclude<FileDelimiter, "auto">, string> = {
  comma: ",",
  tab: "\t",
  pipe: "|",
  semicolon: ";",
};

/** Text handed to the record reader at a time. */
const BATCH_CHARS = 16 * 1024;

/**
 * The connection's delimiter, or the one picked from the header line; ties go to the one the file's
 * extension suggests.
 */
export function detectDelimiter(
  headerLine: string,
  columns: readonly Column[],
  fileName: string,
  setting: FileDelimiter = "auto",
): string {
  if (setting !== "auto") return CHARACTERS[setting];
  const known = new Set(columns.flatMap((c) => [c.name, ...(c.aliases ?? [])].map(normaliseName)));
  const score = (d: string) =>
    headerLine.split(d).filter((f) => known.has(normaliseName(f.trim().replace(/^"|"$/g, "")))).length;
  const preferred = /\.(tsv|txt|tab)(\.gz|\.zip)?$/i.test(fileName)
    ? "\t"
    : /\.psv(\.gz|\.zip)?$/i.test(fileName)
      ? "|"
      : ",";
  let best = preferred;
  let bestScore = score(preferred);
  for (const d of DELIMITERS) {
    const s = score(d);
    if (s > bestScore) {
      best = d;
      bestScore = s;
    }
  }
  return best;
}

/** Opens the records of `text`; an empty file or one with no data rows is a FileProblem. */
export async function delimitedSource(
  text: AsyncGenerator<string>,
  fileName: string,
  columns: readonly Column[],
  maxChars: number,
  delimiterSetting: FileDelimiter = "auto",
): Promise<Source> {
  // Read up to the end of the header line to choose the delimiter.
  let pending = "";
  for (;;) {
    const nl = pending.indexOf("\n");
    if (nl !== -1) break;
    if (pending.length > maxChars) {
      throw new FileProblem("HEADER_TOO_LONG", `The header line is longer than ${maxChars} characters`);
    }
    const next = await text.next();
    if (next.done) break;
    pending += next.value;
  }
  if (pending.trim() === "") throw new FileProblem("EMPTY_FILE", "The file is empty");
  const nl = pending.indexOf("\n");
  const headerLine = nl === -1 ? pending : pending.slice(0, nl);
  const delimiter = detectDelimiter(headerLine, columns, fileName, delimiterSetting);
  const reader = new RecordReader(delimiter, maxChars);
  let header: string[] | null = null;
  let rows = 0;
  const take = (chunk: string | null): RecordEvent[] => {
    const out: RecordEvent[] = [];
    const emit = (e: RecordEvent) => {
      if (e.kind === "record" && e.fields.length === 1 && e.fields[0]!.trim() === "") return; // blank line
      if (!header) {
        if (e.kind !== "record") throw new FileProblem("BAD_HEADER", "The header line cannot be read");
        header = e.fields.map((f) => f.trim());
        return;
      }
      rows++;
      out.push(e);
    };
    if (chunk === null) reader.end(emit);
    else reader.push(chunk, emit);
    return out;
  };
  const first = take(pending);
  async function* batches(): AsyncGenerator<RecordEvent[]> {
    if (first.length) yield first;
    for await (const chunk of text) {
      // Small batches: a batch's records then die young in V8's new generation. Whole 1 MiB chunks (about
      // 5,000 records) outlived scavenges, were promoted, and RSS grew by hundreds of MB before a full GC.
      for (let i = 0; i < chunk.length; i += BATCH_CHARS) {
        const out = take(chunk.length <= BATCH_CHARS ? chunk : chunk.slice(i, i + BATCH_CHARS));
        if (out.length) yield out;
      }
    }
    const last = take(null);
    if (last.length) yield last;
    if (rows === 0) throw new FileProblem("NO_ROWS", "The file has a header but no rows");
  }
  // The header is read before the caller binds it: pull until it is known.
  const gen = batches();
  const head: RecordEvent[][] = [];
  while (!header) {
    const n = await gen.next();
    if (n.done) break;
    head.push(n.value);
  }
  if (!header) throw new FileProblem("EMPTY_FILE", "The file is empty");
  async function* all(): AsyncGenerator<RecordEvent[]> {
    yield* head;
    yield* gen;
  }
  return { header, batches: all() };
}
