import { describe, expect, it } from "vitest";
import { type RecordEvent, RecordReader } from "./records.js";

function read(chunks: string[], delimiter = ",", max = 1000): RecordEvent[] {
  const r = new RecordReader(delimiter, max);
  const out: RecordEvent[] = [];
  for (const c of chunks) r.push(c, (e) => out.push(e));
  r.end((e) => out.push(e));
  return out;
}

const fields = (events: RecordEvent[]) => events.map((e) => (e.kind === "record" ? e.fields : e.kind));

describe("RecordReader", () => {
  it("splits plain records, with LF or CRLF, and a last line without newline", () => {
    expect(fields(read(["a,b\r\n1,2\n3,", "4"]))).toEqual([
      ["a", "b"],
      ["1", "2"],
      ["3", "4"],
    ]);
  });

  it("reads quoted fields with delimiters, doubled quotes and newlines, and keeps physical line numbers", () => {
    const events = read(['h1,h2\n"a,b","say ""hi"""\n"multi\nline",x\nlast,"q"\n']);
    expect(fields(events)).toEqual([
      ["h1", "h2"],
      ["a,b", 'say "hi"'],
      ["multi\nline", "x"],
      ["last", "q"],
    ]);
    expect(events.map((e) => e.line)).toEqual([1, 2, 3, 5]);
  });

  it("gives the same records whatever the chunking", () => {
    const text = 'a,"b\n""c"""\r\n1,2\n"x",y\n';
    const whole = read([text]);
    for (let size = 1; size < text.length; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(read(chunks)).toEqual(whole);
    }
  });

  it("uses the given delimiter", () => {
    expect(fields(read(["a\tb|c\n"], "\t"))).toEqual([["a", "b|c"]]);
    expect(fields(read(["a\tb|c\n"], "|"))).toEqual([["a\tb", "c"]]);
  });

  it("reports an oversize record as one event and goes on with the next line", () => {
    const long = "x".repeat(5000);
    const events = read(["a,b\n", long.slice(0, 2000), long.slice(2000), ",1\nc,d\n"], ",", 100);
    expect(events).toEqual([
      { kind: "record", line: 1, fields: ["a", "b"] },
      { kind: "too_long", line: 2, chars: 5002 },
      { kind: "record", line: 3, fields: ["c", "d"] },
    ]);
  });

  it("skips an oversize quoted record with newlines inside and keeps counting lines", () => {
    const events = read([`a\n"${"y\n".repeat(200)}"\nb\n`], ",", 100);
    expect(events.map((e) => [e.kind, e.line])).toEqual([
      ["record", 1],
      ["too_long", 2],
      ["record", 203],
    ]);
  });

  it("reports a quote left open at the end (a truncated file)", () => {
    expect(read(['a,b\n1,"unfinished']).slice(1)).toEqual([{ kind: "unterminated", line: 2 }]);
  });
});
