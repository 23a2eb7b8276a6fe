import { describe, expect, it } from "vitest";
import { folderName } from "./connections.js";

describe("folderName", () => {
  it("makes a connection's name a folder any client can type", () => {
    const cases: [string, string][] = [
      ["Orders", "orders"],
      ["Daily Orders (EU)", "daily-orders-eu"],
      ["Ventes été 2026", "ventes-ete-2026"],
      ["ÆØÅ partner feed", "a-partner-feed"], // Å decomposes to A; Æ and Ø have no ASCII form
      ["  ..hidden", "hidden"],
      ["a_b.c-d", "a_b.c-d"],
      ["日本の注文", "connection"],
      ["!!!", "connection"],
    ];
    for (const [name, want] of cases) expect(folderName(name), name).toBe(want);
  });

  it("stays within 56 characters and never ends in a separator", () => {
    const long = folderName(`${"a".repeat(55)}-${"b".repeat(20)}`);
    expect(long).toBe("a".repeat(55));
    expect(folderName("x".repeat(300))).toHaveLength(56);
  });
});
