import { describe, expect, it } from "vitest";
import { decideEncoding, firstInvalidUtf8 } from "./encoding.js";

describe("firstInvalidUtf8", () => {
  it("finds the first byte that is not well-formed UTF-8 (RFC 3629)", () => {
    expect(firstInvalidUtf8(Buffer.from("plain ASCII, é, 日本, 😀"), true)).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0x80]), true)).toBe(1); // overlong NUL
    expect(firstInvalidUtf8(Buffer.from([0xe0, 0x80, 0x80]), true)).toBe(0); // overlong
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]), true)).toBe(0); // a surrogate
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]), true)).toBe(0); // past U+10FFFF
    expect(firstInvalidUtf8(Buffer.from("caf\xe9 au lait", "latin1"), true)).toBe(3);
  });

  it("takes a character cut by the end of a sample as valid, and by the end of a file as not", () => {
    const cut = Buffer.from("ab日").subarray(0, 4);
    expect(firstInvalidUtf8(cut, false)).toBe(-1);
    expect(firstInvalidUtf8(cut, true)).toBe(2);
  });
});

describe("decideEncoding", () => {
  it("lets a byte-order mark decide, then the setting, then detection", () => {
    expect(decideEncoding(Buffer.from([0xfe, 0xff, 0, 0x41]), "shift_jis", true).label).toBe("utf-16be");
    expect(decideEncoding(Buffer.from("\ufeffa,b"), "windows-1252", true).label).toBe("utf-8");
    expect(decideEncoding(Buffer.from("a,b"), "iso-8859-1", true).name).toBe("ISO-8859-1");
    expect(decideEncoding(Buffer.from("a,b\nc,d\n"), "auto", true)).toEqual({
      label: "utf-8",
      name: "UTF-8",
      detected: true,
    });
    expect(decideEncoding(Buffer.from("a,b\nc,Soci\xe9t\xe9\n", "latin1"), "auto", true).label).toBe(
      "windows-1252",
    );
  });

  it("refuses NUL bytes unless the file is UTF-16", () => {
    expect(() => decideEncoding(Buffer.from("a\0b"), "auto", true)).toThrow(/binary/);
    expect(decideEncoding(Buffer.from("a,b", "utf16le"), "utf-16", true).label).toBe("utf-16le");
  });
});
