import { describe, expect, it } from "vitest";
import { isId, newId } from "./ids.js";

describe("newId", () => {
  it("makes UUIDv7s that sort in the order they were made, even within one millisecond", () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids) expect(isId(id)).toBe(true);
    expect(ids.every((id) => id[14] === "7" && "89ab".includes(id[19]!))).toBe(true);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("keeps the time it is given", () => {
    const at = Date.UTC(2026, 0, 1);
    const id = newId(at);
    expect(Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16)).toBe(at);
  });
});
