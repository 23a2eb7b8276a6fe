/**
 * Pull from a customer's mailbox over IMAP, against a real Dovecot on loopback ports: attachments matching the
 * pattern become transfers, messages are marked taken so none is taken twice, the TLS certificate is pinned,
 * plain IMAP when chosen, and errors in words (wrong password, missing mailbox).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { type PrivateDovecot, startDovecot } from "../helpers/dovecot.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { clicksCsv, pullAndWait } from "../helpers/pulls.js";

const ADMIN = `imap_pull_admin_${randomBytes(8).toString("hex")}`;

let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let dovecot: PrivateDovecot;
let token: string;
let program: { campaignId: number; partnerId: number };

const api = (method: string, url: string, body?: unknown) => apiCall(ferry.url, token, method, url, body);

const clicks = (...ids: string[]) => clicksCsv(program, ...ids);

async function connection(name: string, details: Record<string, unknown> = {}) {
  return api("POST", "/api/v1/connections", {
    name,
    direction: "inbound",
    dataType: "clicks",
    method: "email",
    methodology: "pull_from_third_party",
    details: {
      host: "127.0.0.1",
      port: dovecot.tlsPort,
      username: dovecot.user.name,
      password: dovecot.user.password,
      filePattern: "clicks_*.csv",
      ...details,
    },
  });
}

const pull = (connectionId: string) => pullAndWait(ferry.url, token, connectionId);

async function processed(connectionId: string, n: number) {
  let items: { fileName: string; status: string; rows: { ok: number } | null; protocol: string }[] = [];
  for (let i = 0; i < 100; i++) {
    items = (await api("GET", `/api/v1/connections/${connectionId}/transfers`)).items;
    if (items.length >= n && items.every((t) => t.status === "processed")) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return items;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-imap-pull-e2e-"));
  await chmod(dir, 0o755);
  dovecot = await startDovecot(path.join(dir, "dovecot"));
  database = await createTestDatabase();
  ferry = await startServe({
    // The third party's servers run on this machine (loopback), which Ferry refuses by default.
    FERRY_REMOTE_ALLOW_PRIVATE: "127.0.0.1",
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_SCHEDULER_SECONDS: "3600",
  });
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", {
    name: "Mail",
    type: "brand",
  });
  token = (await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`, {})).token;
  program = {
    campaignId: (await api("POST", "/api/v1/campaigns", { name: "C", currency: "USD" })).id,
    partnerId: (await api("POST", "/api/v1/partners", { name: "P" })).id,
  };
}, 120_000);

afterAll(async () => {
  dovecot?.stop();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("pull from an IMAP mailbox", () => {
  it("takes matching attachments of new messages, pins the certificate, and never takes a message twice", async () => {
    await dovecot.deliver({
      subject: "Clicks of Monday",
      attachments: [
        { name: "clicks_mon.csv", content: clicks("m-1", "m-2") },
        { name: "notes.txt", content: "not data" },
      ],
    });
    await dovecot.deliver({ subject: "Hello", attachments: [] });
    const c = await connection("Clicks by mail");
    const first = await pull(c.id);
    expect(first).toMatchObject({ status: "succeeded", filesFound: 1, filesTaken: 1, error: null });
    expect(first.hostKey).toMatch(/^SHA256:/);
    expect((await api("GET", `/api/v1/connections/${c.id}`)).details.hostKeyFingerprint).toBe(first.hostKey);
    const [t] = await processed(c.id, 1);
    expect(t).toMatchObject({
      fileName: "clicks_mon.csv",
      status: "processed",
      protocol: "pull",
      rows: { ok: 2 },
    });

    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesFound: 0, filesTaken: 0 });
    await dovecot.deliver({
      subject: "Clicks of Tuesday",
      attachments: [{ name: "clicks_tue.csv", content: clicks("t-1") }],
    });
    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesFound: 1, filesTaken: 1 });
    expect((await processed(c.id, 2)).map((x) => x.fileName).sort()).toEqual([
      "clicks_mon.csv",
      "clicks_tue.csv",
    ]);
  });

  it("reads plain IMAP when chosen", async () => {
    await dovecot.deliver(
      { subject: "More", attachments: [{ name: "clicks_wed.csv", content: clicks("w-1") }] },
      "Feeds",
    );
    const c = await connection("Clicks by plain IMAP", {
      port: dovecot.plainPort,
      tls: false,
      mailbox: "Feeds",
    });
    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });
  });

  it("says what went wrong: authentication, missing mailbox", async () => {
    const wrong = await pull((await connection("Wrong mail password", { password: "nope" })).id);
    expect(wrong).toMatchObject({ status: "failed", errorCode: "AUTH_FAILED" });
    expect(wrong.error).toMatch(/^authentication failed/);
    const missing = await pull((await connection("No such mailbox", { mailbox: "Nowhere" })).id);
    expect(missing).toMatchObject({ status: "failed", errorCode: "FOLDER_MISSING" });
    expect(missing.error).toMatch(/^folder missing: the mailbox Nowhere/);
  });
});
