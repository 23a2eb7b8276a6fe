import { describe, expect, it } from "vitest";
import { LoginGuard } from "./guard.js";

const guard = () =>
  new LoginGuard({
    maxFailures: 3,
    windowMs: 60_000,
    banMs: 60_000,
    maxSessionsPerCredential: 1,
    maxHandlesPerCredential: 1,
    failureDelayMs: 200,
  });

describe("LoginGuard", () => {
  it("bans an address with a username, not the username from elsewhere", async () => {
    const g = guard();
    for (let i = 0; i < 3; i++) await g.failed("10.0.0.1", "feed");
    expect(g.isBanned("10.0.0.1", "feed")).toBe(true);
    expect(g.isBanned("10.0.0.2", "feed")).toBe(false);
    expect(g.isBanned("10.0.0.1", "other")).toBe(false);
  });

  it("bans an address after three times the maximum across usernames", async () => {
    const g = guard();
    for (let i = 0; i < 8; i++) await g.failed("10.0.0.1", `user${i}`);
    expect(g.isBanned("10.0.0.1", "anyone")).toBe(false);
    await g.failed("10.0.0.1", "user9");
    expect(g.isBanned("10.0.0.1", "anyone")).toBe(true);
  });

  it("slows failures for a username under attack from many addresses, without banning it", async () => {
    const g = guard();
    for (let i = 0; i < 3; i++) await g.failed(`10.0.1.${i}`, "feed");
    const started = Date.now();
    await g.failed("10.0.1.9", "feed");
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(g.isBanned("10.0.2.1", "feed")).toBe(false);
  });

  it("forgets an address's failures for a username when it logs in", async () => {
    const g = guard();
    for (let i = 0; i < 2; i++) await g.failed("10.0.0.1", "feed");
    g.succeeded("10.0.0.1", "feed");
    await g.failed("10.0.0.1", "feed");
    expect(g.isBanned("10.0.0.1", "feed")).toBe(false);
  });
});
