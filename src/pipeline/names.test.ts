import { describe, expect, it } from "vitest";
import { isReservedName, isTemporaryName, matchesPattern, refuseName } from "./names.js";

describe("file names", () => {
  it("refuse what no peer accepts, with the reason", () => {
    expect(refuseName("orders.csv")).toBeNull();
    expect(refuseName("ventes été 2026.csv")).toBeNull();
    expect(refuseName("")).toMatch(/not a file name/);
    expect(refuseName("..")).toMatch(/not a file name/);
    expect(refuseName("a/b.csv")).toMatch(/not allowed/);
    expect(refuseName("a\\b.csv")).toMatch(/not allowed/);
    expect(refuseName('a"b.csv')).toMatch(/not allowed/);
    expect(refuseName("a\u0000b")).toMatch(/control character/);
    expect(refuseName("é".repeat(128))).toMatch(/longer than 255 bytes/);
    expect(refuseName("é".repeat(127))).toBeNull();
    expect(refuseName("result_orders.csv")).toMatch(/reserved/);
  });

  it("know Ferry's own result and receipt names, whatever the case", () => {
    expect(isReservedName("receipt_x.txt")).toBe(true);
    expect(isReservedName("RESULT_x.csv")).toBe(true);
    expect(isReservedName("my_result_x.csv")).toBe(false);
  });

  it("know the names clients write under before renaming", () => {
    for (const n of ["x.csv.part", "x.tmp", "x.csv.filepart", "x.PARTIAL", ".in.x.csv."])
      expect(isTemporaryName(n), n).toBe(true);
    for (const n of ["x.csv", "part.csv", "x.tmp.csv", "in.x.csv"]) expect(isTemporaryName(n), n).toBe(false);
  });

  it("match globs without case, * and ? only, every other character literal", () => {
    expect(matchesPattern("*.csv", "Orders.CSV")).toBe(true);
    expect(matchesPattern("orders-????.csv", "orders-2026.csv")).toBe(true);
    expect(matchesPattern("orders-????.csv", "orders-26.csv")).toBe(false);
    expect(matchesPattern("a.csv", "abcsv")).toBe(false);
    expect(matchesPattern("(x)+[y].csv", "(x)+[y].csv")).toBe(true);
    expect(matchesPattern("*.csv", "orders.csv.gz")).toBe(false);
    expect(matchesPattern("*", "anything at all")).toBe(true);
  });
});
