/**
 * Records from XML feeds (Google-Merchant-style RSS `<item>` or Atom `<entry>`), streamed with saxes: each
 * record's child elements (prefixes such as `g:` dropped) become fields in the order of the type's columns,
 * with the line of the record's start tag. External entities are never fetched (saxes does not resolve them).
 */
import { SaxesParser } from "saxes";
import { type Column, normaliseName } from "../datatypes/columns.js";
import { FileProblem } from "../datatypes/problems.js";
import type { RecordEvent } from "./records.js";
import type { Source } from "./source.js";

export async function xmlSource(
  text: AsyncGenerator<string>,
  columns: readonly Column[],
  recordNames: readonly string[],
): Promise<Source> {
  const byName = new Map<string, number>();
  columns.forEach((c, i) => {
    for (const n of [c.name, ...(c.aliases ?? [])]) byName.set(normaliseName(n), i);
  });
  const header = columns.map((c) => c.name);
  const parser = new SaxesParser({ position: true });
  let out: RecordEvent[] = [];
  let record: { line: number; fields: string[] } | null = null;
  let depth = 0;
  let field: number | null = null;
  let value = "";
  let count = 0;
  const local = (name: string) => name.slice(name.indexOf(":") + 1);
  parser.on("opentag", (tag) => {
    depth++;
    if (!record) {
      if (recordNames.includes(local(tag.name))) {
        record = { line: parser.line, fields: header.map(() => "") };
        depth = 0;
      }
      return;
    }
    if (depth === 1) {
      field = byName.get(normaliseName(local(tag.name))) ?? null;
      value = "";
    }
  });
  const addText = (t: string) => {
    if (record && depth === 1 && field !== null) value += t;
  };
  parser.on("text", addText);
  parser.on("cdata", addText);
  parser.on("closetag", () => {
    if (!record) return;
    if (depth === 0) {
      out.push({ kind: "record", line: record.line, fields: record.fields });
      count++;
      record = null;
      return;
    }
    if (depth === 1 && field !== null) record.fields[field] = value.trim();
    depth--;
  });
  parser.on("error", (err) => {
    throw new FileProblem("BAD_XML", `The XML is not well-formed: ${err.message}`);
  });
  async function* batches(): AsyncGenerator<RecordEvent[]> {
    for await (const chunk of text) {
      parser.write(chunk);
      if (out.length) {
        yield out;
        out = [];
      }
    }
    parser.close();
    if (out.length) yield out;
    if (count === 0) throw new FileProblem("NO_ROWS", `The XML has no ${recordNames.join(" or ")} elements`);
  }
  return { header, batches: batches() };
}
