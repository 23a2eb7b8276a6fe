import { describe, expect, it } from "vitest";
import {
  bindHeader,
  type Column,
  cents,
  currency,
  fromCents,
  id,
  integer,
  isoDate,
  money,
  oneOf,
  rowValues,
  text,
} from "./columns.js";
import { FileProblem, RowProblem } from "./problems.js";

/** The problem a parser throws for `raw`, as [code, message], or the value it accepts. */
function parsed(parse: (raw: string) => string, raw: string): string | [string, string] {
  try {
    return parse(raw);
  } catch (err) {
    if (err instanceof RowProblem || err instanceof FileProblem) return [err.code, err.message];
    throw err;
  }
}

const columns: Column[] = [
  { name: "OrderId", required: true, doc: "", parse: text("OrderId", 64) },
  { name: "Amount", required: false, aliases: ["SaleAmount"], doc: "", parse: money("Amount") },
];

describe("headers", () => {
  it("bind columns by name without case, spaces, underscores or hyphens, and aliases", () => {
    const b = bindHeader(columns, ["x", "order_id", " Sale-Amount "]);
    expect(b.index).toEqual([1, 2]);
    expect(b.unknown).toEqual(["x"]);
  });

  it("stop the file for a missing required column or one given twice, naming it", () => {
    expect(() => bindHeader(columns, ["Amount"])).toThrow(
      /Column OrderId is required; the header has: Amount/,
    );
    expect(() => bindHeader(columns, ["OrderId", "Amount", "amount"])).toThrow(
      /Column Amount appears twice in the header \(fields 2 and 3\)/,
    );
  });
});

describe("rows", () => {
  const b = bindHeader(columns, ["OrderId", "Amount"]);
  it("give each column its parsed value, empty fields as null, values trimmed", () => {
    expect(rowValues(columns, b, [" A-1 ", ""])).toEqual(["A-1", null]);
    expect(rowValues(columns, b, ["A-1", "12.5"])).toEqual(["A-1", "12.5"]);
  });

  it("refuse a wrong field count and a missing required value", () => {
    expect(() => rowValues(columns, b, ["A-1"])).toThrow(/The row has 1 field; the header has 2/);
    expect(() => rowValues(columns, b, [" ", "1"])).toThrow(/OrderId is required/);
  });
});

describe("value parsers", () => {
  it("take ids as whole numbers of up to 15 digits", () => {
    expect(parsed(id("CampaignId"), "1001")).toBe("1001");
    expect(parsed(id("CampaignId"), "10.5")).toEqual([
      "INVALID_ID",
      'CampaignId must be a whole number, not "10.5"',
    ]);
    expect(parsed(id("CampaignId"), "1".repeat(16))[0]).toBe("INVALID_ID");
  });

  it("take money with at most two decimals, negative only where allowed", () => {
    expect(parsed(money("Amount"), "12.34")).toBe("12.34");
    expect(parsed(money("Amount"), "12.345")).toEqual([
      "INVALID_AMOUNT",
      'Amount has more than two decimals: "12.345"',
    ]);
    expect(parsed(money("Amount"), "1,234.00")[0]).toBe("INVALID_AMOUNT");
    expect(parsed(money("Amount"), "12,5")).toBe("12.5");
    expect(parsed(money("Amount", { negative: true }), "-12,50")).toBe("-12.50");
    expect(parsed(money("Amount"), "1,234")[0]).toBe("INVALID_AMOUNT");
    expect(parsed(money("Amount"), "-1")).toEqual(["NEGATIVE_AMOUNT", "Amount cannot be negative (-1)"]);
    expect(parsed(money("Amount", { negative: true }), "-1")).toBe("-1");
  });

  it("cut long values off in messages", () => {
    const [, message] = parsed(id("MediaId"), "x".repeat(100)) as [string, string];
    expect(message).toBe(`MediaId must be a whole number, not "${"x".repeat(40)}…"`);
  });

  it("check text length, integer range, currency codes and enumerations", () => {
    expect(parsed(text("Sku", 3), "abcd")).toEqual([
      "VALUE_TOO_LONG",
      "Sku is 4 characters long; at most 3 are allowed",
    ]);
    expect(parsed(integer("Quantity", 1, 999), "0")[0]).toBe("INVALID_NUMBER");
    expect(parsed(integer("Quantity", 1, 999), "999")).toBe("999");
    expect(parsed(currency("CurrencyCode"), "usd")).toBe("USD");
    expect(parsed(currency("CurrencyCode"), "US$")[0]).toBe("INVALID_CURRENCY");
    expect(parsed(oneOf("Status", ["APPROVED", "REVERSED"]), "reversed")).toBe("REVERSED");
    expect(parsed(oneOf("Status", ["APPROVED", "REVERSED"]), "gone")[1]).toBe(
      'Status must be one of APPROVED, REVERSED, not "gone"',
    );
  });

  it("take ISO 8601 dates and date-times that exist, with or without an offset", () => {
    const date = isoDate("EventDate");
    for (const ok of [
      "2026-03-31",
      "2026-03-31T14:05:00Z",
      "2026-03-31 14:05",
      "2026-03-31T14:05:00.123456+02:00",
      "2026-03-31T14:05:00-0500",
      "2024-02-29",
      "2000-02-29",
    ])
      expect(parsed(date, ok), ok).toBe(ok);
    for (const bad of [
      "2026-02-29",
      "1900-02-29",
      "2026-04-31",
      "2026-13-01",
      "2026-03-31T24:00",
      "31/03/2026",
      "1969-12-31",
    ])
      expect(parsed(date, bad)[0], bad).toBe("INVALID_DATE");
  });
});

describe("cents", () => {
  it("are exact for every amount money accepts, to twelve digits and two decimals", () => {
    const amount = money("Amount", { negative: true });
    const cases: [string, number][] = [
      ["0", 0],
      ["0.1", 10],
      ["0.29", 29],
      ["8.15", 815],
      ["1.005".slice(0, 4), 100],
      ["12.", 1200],
      ["-0.5", -50],
      ["999999999999.99", 99_999_999_999_999],
      ["-123456789012.34", -12_345_678_901_234],
    ];
    for (const [raw, want] of cases) expect(cents(amount(raw))).toBe(want);
    // Every cent of a range of large amounts, where the product with 100 is least exact.
    for (let n = 0; n < 200_000; n++) {
      const raw = fromCents(4_503_599_627 * 100 + n);
      expect(cents(raw)).toBe(4_503_599_627 * 100 + n);
    }
  });
});
