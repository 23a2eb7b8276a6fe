/**
 * The login guard on its PostgreSQL tables: bans of address and pair, slowing a username under attack, and
 * session caps — each also across two guards on one database, as two Ferry nodes are.
 */
import { describe, expect, it } from "vitest";
import { LoginGuard } from "../../src/domain/login-guard.js";
import { useTestDb } from "../helpers/db.js";

const db = useTestDb();

const guard = () =>
  new LoginGuard(db.current.pool, {
    maxFailures: 3,
    windowMs: 60_000,
    banMs: 60_000,
    maxSessionsPerCredential: 2,
    maxHandlesPerCredential: 1,
    failureDelayMs: 200,
  });

describe("LoginGuard", () => {
  it("bans an address with a username, not the username from elsewhere", async () => {
    const g = guard();
    for (let i = 0; i < 3; i++) await g.failed("10.0.0.1", "feed");
    expect(await g.isBanned("10.0.0.1", "feed")).toBe(true);
    expect(await g.isBanned("10.0.0.2", "feed")).toBe(false);
    expect(await g.isBanned("10.0.0.1", "other")).toBe(false);
  });

  it("bans an address after three times the maximum across usernames", async () => {
    const g = guard();
    for (let i = 0; i < 8; i++) await g.failed("10.0.3.1", `user${i}`);
    expect(await g.isBanned("10.0.3.1", "anyone")).toBe(false);
    await g.failed("10.0.3.1", "user9");
    expect(await g.isBanned("10.0.3.1", "anyone")).toBe(true);
  });

  it("slows failures for a username under attack from many addresses, without banning it", async () => {
    const g = guard();
    for (let i = 0; i < 3; i++) await g.failed(`10.0.1.${i}`, "attacked");
    const started = Date.now();
    await g.failed("10.0.1.9", "attacked");
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(await g.isBanned("10.0.2.1", "attacked")).toBe(false);
  });

  it("forgets an address's failures for a username when it logs in", async () => {
    const g = guard();
    for (let i = 0; i < 2; i++) await g.failed("10.0.4.1", "feed2");
    await g.succeeded("10.0.4.1", "feed2");
    await g.failed("10.0.4.1", "feed2");
    expect(await g.isBanned("10.0.4.1", "feed2")).toBe(false);
  });

  it("counts failures on two nodes together, and a ban made on one holds on the other at once", async () => {
    const [node1, node2] = [guard(), guard()];
    await node1.failed("10.0.5.1", "shared");
    await node2.failed("10.0.5.1", "shared");
    expect(await node1.isBanned("10.0.5.1", "shared")).toBe(false);
    await node1.failed("10.0.5.1", "shared");
    expect(await node2.isBanned("10.0.5.1", "shared")).toBe(true);
  });

  it("caps a credential's sessions across nodes, each its own cap first, and gives slots back", async () => {
    const [node1, node2] = [guard(), guard()];
    const login = { credentialId: "0190a0a0-0000-7000-8000-0000000000a1", maxSessions: null };
    const a = await node1.openSession(login);
    const b = await node2.openSession(login);
    expect(a && b).toBeTruthy();
    expect(await node1.openSession(login)).toBeNull();
    expect(await node2.openSession(login)).toBeNull();
    await a!.close();
    const c = await node2.openSession(login);
    expect(c).not.toBeNull();
    // Its own cap replaces the server's.
    const wider = { ...login, maxSessions: 3 };
    expect(await node1.openSession(wider)).not.toBeNull();
    expect(await node1.openSession(wider)).toBeNull();
  });

  it("counts sessions opened at once on two nodes one after the other: never over the cap", async () => {
    const [node1, node2] = [guard(), guard()];
    const login = { credentialId: "0190a0a0-0000-7000-8000-0000000000b2", maxSessions: 5 };
    const slots = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? node1 : node2).openSession(login)),
    );
    expect(slots.filter(Boolean)).toHaveLength(5);
  });

  it("stops counting the sessions of a node that died (no heartbeat for 90 s)", async () => {
    const dead = guard();
    const login = { credentialId: "0190a0a0-0000-7000-8000-0000000000c3", maxSessions: 1 };
    expect(await dead.openSession(login)).not.toBeNull();
    const alive = guard();
    expect(await alive.openSession(login)).toBeNull();
    await db.current.pool.query(
      "UPDATE login_sessions SET seen_at = clock_timestamp() - interval '91 seconds' WHERE credential_id = $1",
      [login.credentialId],
    );
    expect(await alive.openSession(login)).not.toBeNull();
  });
});
