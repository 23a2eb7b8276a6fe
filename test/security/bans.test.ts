/**
 * Failed logins ban what an attacker controls (an address, an address with a username), never a username
 * alone, and only real failures count: OpenSSH offering a user's other keys first is no attack.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { sftpBatch } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";
import { ssh2Login } from "../helpers/ssh2-login.js";

const ADMIN = `bans_admin_${randomBytes(8).toString("hex")}`;
const MAX_FAILURES = 4;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let sftpPort: number;
let token: string;
const keys: Record<string, string> = {};

async function credential(kind: "password" | "public_key", publicKey?: string) {
  const cred = await apiCall(ferry.url, token, "POST", "/api/v1/credentials", {
    name: `c-${randomBytes(3).toString("hex")}`,
    kind,
    ...(publicKey ? { publicKey } : {}),
  });
  await apiCall(ferry.url, token, "POST", "/api/v1/connections", {
    name: `Clicks ${cred.username}`,
    direction: "inbound",
    dataType: "clicks",
    method: "sftp",
    methodology: "push_to_platform",
    credentialId: cred.id,
  });
  return cred as { username: string; password: string };
}

/** A password login with ssh2's client from `from`: "ok", or why it failed. */
const passwordLogin = (username: string, password: string, from: string) =>
  ssh2Login({ port: sftpPort, username, password, from });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bans-"));
  await chmod(dir, 0o755);
  database = await createTestDatabase();
  sftpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_LOGIN_MAX_FAILURES: String(MAX_FAILURES),
    FERRY_MAX_SESSIONS_PER_CREDENTIAL: "3",
    FERRY_LOG_LEVEL: "error",
  });
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", { name: "B", type: "partner" });
  token = (await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`)).token;
  for (const name of ["other1", "other2", "mine"]) {
    keys[name] = path.join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keys[name]!]);
  }
});

afterAll(async () => {
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("failed logins", () => {
  it("do not count the keys a client offers before its own", async () => {
    const cred = await credential("public_key", await readFile(`${keys.mine}.pub`, "utf8"));
    const login = { port: sftpPort, username: cred.username, keyFile: keys.other1!, workDir: dir };
    for (let i = 0; i < MAX_FAILURES * 3 + 2; i++) {
      const res = await sftpBatch(login, ["pwd"], ["-i", keys.other2!, "-i", keys.mine!]);
      expect(res.code, `login ${i + 1}: ${res.stderr}`).toBe(0);
    }
  });

  it("never lock a username's real client out: a stranger's failures only slow the stranger", async () => {
    const cred = await credential("password");
    for (let i = 0; i < MAX_FAILURES + 2; i++) {
      expect(await passwordLogin(cred.username, "wrong-password", "127.0.0.2")).toMatch(/authentication/i);
    }
    expect(await passwordLogin(cred.username, cred.password, "127.0.0.3")).toBe("ok");
  });

  it("ban an address with a username after the maximum, even for the right password", async () => {
    const cred = await credential("password");
    for (let i = 0; i < MAX_FAILURES; i++) await passwordLogin(cred.username, "wrong-password", "127.0.0.4");
    expect(await passwordLogin(cred.username, cred.password, "127.0.0.4")).toMatch(/authentication/i);
    expect(await passwordLogin(cred.username, cred.password, "127.0.0.5")).toBe("ok");
  });

  it("ban an address that tries many usernames", async () => {
    const cred = await credential("password");
    for (let i = 0; i < MAX_FAILURES * 3; i++) {
      await passwordLogin(`nobody-${i}`, "wrong-password", "127.0.0.6");
    }
    expect(await passwordLogin(cred.username, cred.password, "127.0.0.6")).toMatch(/authentication/i);
    expect(await passwordLogin(cred.username, cred.password, "127.0.0.7")).toBe("ok");
  });
});

describe("a login over its session limit", () => {
  it("is told so in words, not as a wrong password, and counts no failure", async () => {
    const cred = await credential("password");
    const held: Client[] = [];
    for (let i = 0; i < 3; i++) {
      const client = new Client();
      await new Promise<void>((resolve, reject) => {
        client.once("ready", resolve).once("error", reject);
        client.connect({
          host: "127.0.0.1",
          port: sftpPort,
          username: cred.username,
          password: cred.password,
        });
      });
      held.push(client);
    }
    const over = await sftpBatch(
      { port: sftpPort, username: cred.username, password: cred.password, workDir: dir },
      ["pwd"],
    );
    expect(over.code).not.toBe(0);
    expect(over.stderr).toMatch(/Too many sessions for this login at once/);
    expect(over.stderr).not.toMatch(/Permission denied/);
    for (const c of held) c.end();
    await new Promise((r) => setTimeout(r, 300));
    expect(await passwordLogin(cred.username, cred.password, "127.0.0.1")).toBe("ok");
  });
});

describe("a credential's own session limit", () => {
  /** Opens `n` SSH sessions of one login at once; how many were let in, and the refusal's words if any. */
  async function sessions(cred: { username: string; password: string }, n: number) {
    const clients: Client[] = [];
    let refusal = "";
    for (let i = 0; i < n; i++) {
      const client = new Client();
      const ok = await new Promise<boolean>((resolve) => {
        client
          .once("ready", () => resolve(true))
          .once("error", (err) => {
            refusal = err.message;
            resolve(false);
          });
        client.connect({
          host: "127.0.0.1",
          port: sftpPort,
          username: cred.username,
          password: cred.password,
        });
      });
      if (ok) clients.push(client);
    }
    for (const c of clients) c.end();
    await new Promise((r) => setTimeout(r, 300));
    return { admitted: clients.length, refusal };
  }

  it("replaces the server's default for that login only, up or down", async () => {
    const wide = (await credential("password")) as { id: string; username: string; password: string };
    const narrow = (await credential("password")) as { id: string; username: string; password: string };
    const set = (c: { id: string }, maxSessions: number | null) =>
      apiCall(ferry.url, token, "PATCH", `/api/v1/credentials/${c.id}`, { maxSessions });
    expect(await set(wide, 6)).toMatchObject({ maxSessions: 6 });
    expect(await set(narrow, 1)).toMatchObject({ maxSessions: 1 });
    // The server's default here is 3.
    expect(await sessions(wide, 7)).toMatchObject({ admitted: 6 });
    const one = await sessions(narrow, 2);
    expect(one.admitted).toBe(1);
    expect(one.refusal).toMatch(/Too many sessions for this login at once \(its limit is 1\)/);
    await set(narrow, null);
    expect(await sessions(narrow, 4)).toMatchObject({ admitted: 3 });
    const tooMany = await fetch(`${ferry.url}/api/v1/credentials/${narrow.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ maxSessions: 10_000 }),
    });
    expect(tooMany.status).toBe(400);
  });
});
