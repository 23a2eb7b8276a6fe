/**
 * Storage quota per account: set by the administrator only; uploads that would go over it are refused with
 * words on every way in (HTTP 507, SFTP failure, FTP 552, SMTP 552 at RCPT), before a full account writes a
 * byte, and exactly at the limit when uploads finish at once; other accounts are not affected.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client, type SFTPWrapper } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";
import { connectRawFtp } from "../helpers/raw-ftp.js";
import { connectSmtp } from "../helpers/smtp.js";

const ADMIN = `quota_admin_${randomBytes(8).toString("hex")}`;
const QUOTA = 10_240;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let ports: { sftp: number; ftp: number; smtp: number };
let full: Awaited<ReturnType<typeof clicksLogin<"sftp" | "ftp">>>;
let accountId: string;
let emailAddress: string;
let emailConnection: string;
const clients: Client[] = [];

/** A clicks file of exactly `bytes` bytes. */
const file = (bytes: number) => {
  const head = "ClickId\n";
  return `${head}${"x".repeat(bytes - head.length - 1)}\n`;
};

async function upload(token: string, connectionId: string, name: string, body: string) {
  const res = await fetch(`${ferry.url}/api/v1/connections/${connectionId}/files?name=${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body,
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

const account = async () => apiCall(ferry.url, full.token, "GET", `/api/v1/accounts/${accountId}`);

async function sftpSession(): Promise<SFTPWrapper> {
  const client = new Client();
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once("ready", resolve).once("error", reject);
    client.connect({ host: "127.0.0.1", port: ports.sftp, ...full.login, readyTimeout: 20_000 });
  });
  return new Promise((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
}

const sftpPut = (sftp: SFTPWrapper, name: string, data: string) =>
  new Promise<string>((resolve) =>
    sftp.writeFile(`/${full.connections.sftp.folder}/inbox/${name}`, data, (err) =>
      resolve(err ? err.message : "ok"),
    ),
  );

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-quota-"));
  database = await createTestDatabase();
  ports = { sftp: await freePort(), ftp: await freePort(), smtp: await freePort() };
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(ports.sftp),
    FERRY_FTP_PORT: String(ports.ftp),
    FERRY_SMTP_PORT: String(ports.smtp),
    FERRY_EMAIL_DOMAIN: "in.ferry.test",
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_FTP_REQUIRE_TLS: "false",
    FERRY_LOG_LEVEL: "error",
  });
  full = await clicksLogin(ferry.url, ADMIN, ["sftp", "ftp"]);
  accountId = (await apiCall(ferry.url, full.token, "GET", "/api/v1/accounts")).items[0].id;
  const email = await apiCall(ferry.url, full.token, "POST", "/api/v1/connections", {
    name: "Clicks by email",
    direction: "inbound",
    dataType: "clicks",
    method: "email",
    methodology: "push_to_platform",
  });
  emailAddress = email.address;
  emailConnection = email.id;
});

afterAll(async () => {
  for (const c of clients) c.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("storage quota per account", () => {
  it("is set by the administrator only, and shown with what the account's files take", async () => {
    const byMember = await fetch(`${ferry.url}/api/v1/accounts/${accountId}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${full.token}`, "content-type": "application/json" },
      body: JSON.stringify({ storageQuotaBytes: 1e12 }),
    });
    expect(byMember.status).toBe(403);
    const set = await apiCall(ferry.url, ADMIN, "PATCH", `/api/v1/accounts/${accountId}`, {
      storageQuotaBytes: QUOTA,
    });
    expect(set).toMatchObject({ storageQuotaBytes: QUOTA, storageUsedBytes: 0 });
  });

  it("takes files up to the quota and refuses the one that would go over it, on every way in", async () => {
    expect((await upload(full.token, emailConnection, "a.csv", file(6144))).status).toBe(201);
    expect(await account()).toMatchObject({ storageUsedBytes: 6144 });

    // HTTP: 507 with the numbers; nothing kept.
    const over = await upload(full.token, emailConnection, "b.csv", file(6144));
    expect(over.status).toBe(507);
    expect(over.body.error).toMatchObject({ code: "QUOTA_EXCEEDED" });
    expect(over.body.error!.message).toMatch(/take 6144 of its 10240 bytes, which leaves 4096 bytes/);

    // SFTP: a failure with the reason; a file that fits still goes in.
    const sftp = await sftpSession();
    expect(await sftpPut(sftp, "big.csv", file(6144))).toMatch(/Storage quota exceeded/);
    expect(await sftpPut(sftp, "fits.csv", file(3072))).toBe("ok");
    expect(await account()).toMatchObject({ storageUsedBytes: 9216 });

    // FTP: RFC 959's 552 "exceeded storage allocation".
    const ftp = await connectRawFtp(ports.ftp, full.login.username, full.login.password);
    const data = await ftp.openData();
    expect(await ftp.command(`STOR /${full.connections.ftp.folder}/inbox/ftp.csv`)).toMatch(/^150/);
    data.end(file(2048));
    expect(await ftp.reply()).toMatch(/^552 Storage quota exceeded/);
    ftp.control.destroy();

    // Exactly up to the quota is allowed; then the account is full and nothing may start.
    expect((await upload(full.token, emailConnection, "last.csv", file(1024))).status).toBe(201);
    expect(await account()).toMatchObject({ storageUsedBytes: QUOTA });
    const opened = await new Promise<string>((resolve) =>
      sftp.open(`/${full.connections.sftp.folder}/inbox/more.csv`, "w", (err) =>
        resolve(err ? err.message : "opened"),
      ),
    );
    expect(opened).toMatch(/Storage quota reached: the account's files take 10240 of its 10240 bytes/);

    // SMTP: refused at RCPT, before the message is sent.
    const smtp = await connectSmtp(ports.smtp);
    await smtp.command("EHLO erp.brand.test");
    await smtp.command("MAIL FROM:<erp@brand.test>");
    const rcpt = await smtp.command(`RCPT TO:<${emailAddress}>`);
    smtp.close();
    expect(rcpt).toMatchObject({ code: 552 });
    expect(rcpt.text).toMatch(/storage quota/);

    // What was refused left nothing behind in the store.
    expect(await readdir(path.join(dir, "data", "files", "tmp")).catch(() => [])).toEqual([]);
    const names = async (connectionId: string) =>
      (
        await apiCall(ferry.url, full.token, "GET", `/api/v1/connections/${connectionId}/transfers`)
      ).items.map((t: { fileName: string }) => t.fileName);
    expect(
      [
        ...(await names(emailConnection)),
        ...(await names(full.connections.sftp.id)),
        ...(await names(full.connections.ftp.id)),
      ].sort(),
    ).toEqual(["a.csv", "fits.csv", "last.csv"]);
  });

  it("does not touch other accounts, and lifts when the administrator removes it", async () => {
    const other = await clicksLogin(ferry.url, ADMIN, ["sftp"]);
    const otherAccount = (await apiCall(ferry.url, other.token, "GET", "/api/v1/accounts")).items[0];
    expect(otherAccount.storageQuotaBytes).toBeNull();
    const res = await fetch(
      `${ferry.url}/api/v1/connections/${other.connections.sftp.id}/files?name=other.csv`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${other.token}`, "content-type": "application/octet-stream" },
        body: file(20_000),
      },
    );
    expect(res.status).toBe(201);
    await apiCall(ferry.url, ADMIN, "PATCH", `/api/v1/accounts/${accountId}`, { storageQuotaBytes: null });
    expect((await upload(full.token, emailConnection, "after.csv", file(6144))).status).toBe(201);
  });

  it("counts uploads that finish at once one after the other: never over the quota", async () => {
    const fresh = await clicksLogin(ferry.url, ADMIN, ["sftp"]);
    const id = (await apiCall(ferry.url, fresh.token, "GET", "/api/v1/accounts")).items[0].id;
    await apiCall(ferry.url, ADMIN, "PATCH", `/api/v1/accounts/${id}`, { storageQuotaBytes: QUOTA });
    // Each fits alone (both start while nothing is stored); together they do not.
    const results = await Promise.all(
      [1, 2, 3].map((i) => upload(fresh.token, fresh.connections.sftp.id, `race_${i}.csv`, file(4096))),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 507]);
    const after = await apiCall(ferry.url, fresh.token, "GET", `/api/v1/accounts/${id}`);
    expect(after.storageUsedBytes).toBe(8192);
  });
});
