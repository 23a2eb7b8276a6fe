import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { zip } from "../../test/helpers/zip.js";
import { FileProblem } from "../datatypes/problems.js";
import type { FileEncoding } from "../domain/connection-rules.js";
import type { ObjectReader } from "./store.js";
import { textOf, type UnpackLimits } from "./unpack.js";

/** A stored object's reader over bytes in memory (the port is two methods), counting what was read. */
function readerOf(bytes: Buffer): ObjectReader & { readBytes: number } {
  return {
    size: bytes.length,
    readBytes: 0,
    async read(position, length) {
      const out = bytes.subarray(position, Math.min(bytes.length, position + length));
      this.readBytes += out.length;
      return out;
    },
    async close() {},
  };
}

const LIMITS: UnpackLimits = { maxUnpackedBytes: 64 * 1024 ** 2, maxRatio: 200 };

async function text(bytes: Buffer, limits = LIMITS, encoding: FileEncoding = "auto"): Promise<string> {
  let out = "";
  for await (const chunk of textOf(readerOf(bytes), limits, encoding)) out += chunk;
  return out;
}

async function problem(
  bytes: Buffer,
  limits = LIMITS,
  encoding: FileEncoding = "auto",
): Promise<[string, string]> {
  try {
    await text(bytes, limits, encoding);
  } catch (err) {
    if (err instanceof FileProblem) return [err.code, err.message];
    throw err;
  }
  throw new Error("no problem found");
}

const csv = "OrderId,Amount\nA-1,12.50\nB-2,3.00\n";

describe("unpacking a stored file into text", () => {
  it("reads plain, gzip and single-entry zip files alike, by their bytes, not their names", async () => {
    expect(await text(Buffer.from(csv))).toBe(csv);
    expect(await text(gzipSync(csv))).toBe(csv);
    expect(await text(zip([{ name: "orders.csv", data: Buffer.from(csv) }]))).toBe(csv);
  });

  it("keeps UTF-8 characters split across chunks whole", async () => {
    const long = `${"é".repeat(300_000)}\n`;
    expect(await text(gzipSync(long))).toBe(long);
  });

  it("reads UTF-16 by its byte-order mark, whatever the connection says", async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, "utf16le")]);
    const be = Buffer.from(le);
    be.swap16();
    expect(await text(le)).toBe(csv);
    expect(await text(be)).toBe(csv);
    expect(await text(le, LIMITS, "utf-8")).toBe(csv);
    expect(await text(Buffer.from(csv, "utf16le"), LIMITS, "utf-16")).toBe(csv);
  });

  it("detects Windows-1252 (and ISO-8859-1) and Shift_JIS, or reads them as set", async () => {
    const latin = Buffer.from(
      "ClickId,Partner\nc1,Soci\xe9t\xe9 G\xe9n\xe9rale\nc2,Caf\xe9 cr\xe8me\n",
      "latin1",
    );
    expect(await text(latin)).toBe("ClickId,Partner\nc1,Société Générale\nc2,Café crème\n");
    // “ ” and – are Windows-1252's 0x93 0x94 0x96 (C1 controls in strict ISO-8859-1: read as browsers do).
    const quotes = Buffer.concat([latin, Buffer.from([0x63, 0x33, 0x2c, 0x93, 0xe9, 0x94, 0x96, 0x0a])]);
    expect(await text(quotes, LIMITS, "iso-8859-1")).toMatch(/c3,“é”–\n$/);
    const sjisLine = Buffer.from("93fa967b82cc89ef8ed0", "hex"); // 日本の会社
    const sjis = Buffer.concat([
      Buffer.from("ClickId,Partner\n"),
      ...Array.from({ length: 20 }, (_, i) =>
        Buffer.concat([Buffer.from(`c${i},`), sjisLine, Buffer.from("\n")]),
      ),
    ]);
    expect((await text(sjis)).split("\n")[1]).toBe("c0,日本の会社");
    expect((await text(sjis, LIMITS, "shift_jis")).split("\n")[20]).toBe("c19,日本の会社");
  });

  it("refuses binaries, mixed and unknown encodings, and bytes not of the set encoding, saying on which line", async () => {
    expect((await problem(Buffer.from("a,b\n\u0000\u0001\n")))[0]).toBe("BINARY_FILE");
    const latin1 = Buffer.concat([Buffer.from("OrderId\nA-1\n"), Buffer.from("caf\xe9\n", "latin1")]);
    expect(await problem(latin1, LIMITS, "utf-8")).toEqual([
      "INVALID_ENCODING",
      "The file is not valid UTF-8 (line 3); save it in one encoding (UTF-8), or change the connection's encoding",
    ]);
    const mixedEarly = Buffer.concat([Buffer.from("OrderId\nCafé\n"), Buffer.from("caf\xe9\n", "latin1")]);
    expect(await problem(mixedEarly)).toEqual([
      "INVALID_ENCODING",
      "The file mixes encodings: it has UTF-8 characters, and line 3 is not UTF-8; save it in one encoding (UTF-8)",
    ]);
    const mixedLate = Buffer.concat([
      Buffer.from(`OrderId\n${"Café\n".repeat(200_000)}`),
      Buffer.from("caf\xe9\n", "latin1"),
    ]);
    expect(await problem(mixedLate)).toEqual([
      "INVALID_ENCODING",
      "The file is not valid UTF-8 (line 200002): its start reads as UTF-8, so it mixes encodings; save it in one encoding (UTF-8)",
    ]);
    const eucJp = Buffer.concat([
      Buffer.from("ClickId,Partner\n"),
      ...Array.from({ length: 20 }, () =>
        Buffer.from("c,\xc6\xfc\xcb\xdc\xa4\xce\xb2\xf1\xbc\xd2\n", "latin1"),
      ),
    ]);
    const [code, message] = await problem(eucJp);
    expect(code).toBe("UNKNOWN_ENCODING");
    expect(message).toMatch(
      /^The file is not UTF-8 \(line 2\), and its encoding is not one Ferry reads \(it looks like EUC-JP\); save it as UTF-8/,
    );
    expect((await problem(Buffer.from([0x61, 0xc3]), LIMITS, "utf-8"))[1]).toMatch(
      /ends in the middle of a UTF-8 character/,
    );
  });

  it("stops at the unpacked size limit", async () => {
    const [code, message] = await problem(gzipSync(Buffer.alloc(2 * 1024 ** 2, "a")), {
      maxUnpackedBytes: 1024 ** 2,
      maxRatio: 10_000,
    });
    expect(code).toBe("FILE_TOO_LARGE");
    expect(message).toBe(`The file unpacks to more than ${1024 ** 2} bytes, the limit`);
  });

  it("stops a bomb by what came out against what went in so far, reading little of it", async () => {
    // 64 MiB of one byte, then a gzip member of 16 MiB of random bytes: the whole file expands 5 times,
    // under the limit, but its first 8 MiB came out of a few KiB.
    const bomb = Buffer.concat([
      gzipSync(Buffer.alloc(64 * 1024 ** 2, "a")),
      gzipSync(randomBytes(16 * 1024 ** 2)),
    ]);
    const reader = readerOf(bomb);
    let err: unknown;
    try {
      for await (const _ of textOf(reader, { maxUnpackedBytes: 1024 ** 3, maxRatio: 200 }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileProblem);
    expect((err as FileProblem).code).toBe("ARCHIVE_BOMB");
    expect((err as FileProblem).message).toMatch(/expands more than 200 times/);
    // Judged after 8 MiB unpacked, not at the end: less than a third of the archive was read.
    expect(reader.readBytes).toBeLessThan(bomb.length / 3);
  });

  it("says a truncated gzip is damaged", async () => {
    const gz = gzipSync(Buffer.from(csv.repeat(1000)));
    expect((await problem(gz.subarray(0, gz.length - 20)))[0]).toBe("BAD_ARCHIVE");
  });
});
