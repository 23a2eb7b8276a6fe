import { describe, expect, it } from "vitest";
import {
  generatePassword,
  generateToken,
  generateUsername,
  hashPassword,
  hashToken,
  verifyPassword,
} from "./secrets.js";

describe("passwords", () => {
  it("are 24 unambiguous letters and digits, different each time", () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-HJ-NP-Za-km-z2-9]{24}$/);
    expect(generatePassword()).not.toBe(a);
  });

  it("are stored as a salted scrypt hash that verifies only the right password", async () => {
    const hash = await hashPassword("correct horse");
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(hash).not.toContain("correct horse");
    expect(await hashPassword("correct horse")).not.toBe(hash);
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct horsf", hash)).toBe(false);
    expect(await verifyPassword("x", "md5$abc")).toBe(false);
  });
});

describe("tokens", () => {
  it("carry 256 random bits and are stored as SHA-256", () => {
    const t = generateToken();
    expect(t).toMatch(/^fry_[A-Za-z0-9_-]{43}$/);
    expect(hashToken(t)).toHaveLength(32);
    expect(hashToken(t).equals(hashToken(t))).toBe(true);
  });
});

describe("usernames", () => {
  it("are a slug of the name and a random suffix", () => {
    expect(generateUsername("Orders from ERP (daily)")).toMatch(/^orders-from-erp-dail-[a-z2-9]{6}$/);
    expect(generateUsername("Zürich feed")).toMatch(/^zurich-feed-[a-z2-9]{6}$/);
    expect(generateUsername("***")).toMatch(/^ferry-[a-z2-9]{6}$/);
  });
});
