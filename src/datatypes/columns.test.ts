import { describe, expect, it } from "vitest";
import { cents, fromCents, money } from "./columns.js";

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
