/**
 * The SMTP server played by a hostile or careless client over raw SMTP: several messages on one connection
 * (an MTA that caches its connection), RSET, repeated recipients, messages over the size limit.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";
import { connectSmtp, mailWithAttachment, type RawSmtp } from "../helpers/smtp.js";

const ADMIN = "admin_token_for_smtp_security_0123456789";
const LIMIT = 1024 * 1024;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let smtpPort: number;
interface Tenant {
  token: string;
  connection: { id: string; address: string };
}
let a: Tenant;
let b: Tenant;

async function tenant(name: string): Promise<Tenant> {
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", { name, type: "brand" });
  const { token } = await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`, {});
  const connection = await apiCall(ferry.url, token, "POST", "/api/v1/connections", {
    name: `${name} mail`,
    direction: "inbound",
    dataType: "conversions",
    method: "email",
    methodology: "push_to_platform",
    details: { filePattern: "*.csv" },
  });
  return { token, connection };
}

async function fileNames(t: Tenant): Promise<string[]> {
  const list = await apiCall(ferry.url, t.token, "GET", `/api/v1/connections/${t.connection.id}/transfers`);
  return (list.items as { fileName: string }[]).map((x) => x.fileName).sort();
}

async function session(): Promise<RawSmtp> {
  const smtp = await connectSmtp(smtpPort);
  expect((await smtp.command("EHLO mta.example")).code).toBe(250);
  return smtp;
}

async function send(smtp: RawSmtp, to: string[], file: string) {
  expect((await smtp.command("MAIL FROM:<mta@sender.example>")).code).toBe(250);
  for (const rcpt of to) expect((await smtp.command(`RCPT TO:<${rcpt}>`)).code).toBe(250);
  return smtp.data(mailWithAttachment("mta@sender.example", to.join(", "), file, "OrderId\n1\n"));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-smtp-security-"));
  database = await createTestDatabase();
  smtpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_SMTP_PORT: String(smtpPort),
    FERRY_EMAIL_DOMAIN: "in.ferry.test",
    FERRY_SMTP_MAX_MESSAGE_BYTES: String(LIMIT),
    FERRY_WORKERS: "0",
    FERRY_LOG_LEVEL: "warn",
  });
  a = await tenant("Alpha");
  b = await tenant("Beta");
});

afterAll(async () => {
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("SMTP: one connection, several messages", () => {
  it("stores each message only into its own envelope's recipients", async () => {
    const smtp = await session();
    expect((await send(smtp, [a.connection.address], "first_for_a.csv")).code).toBe(250);
    expect((await send(smtp, [b.connection.address], "second_for_b.csv")).code).toBe(250);
    smtp.close();
    expect(await fileNames(a)).toEqual(["first_for_a.csv"]);
    expect(await fileNames(b)).toEqual(["second_for_b.csv"]);
  });

  it("forgets recipients at RSET", async () => {
    const smtp = await session();
    await smtp.command("MAIL FROM:<mta@sender.example>");
    expect((await smtp.command(`RCPT TO:<${a.connection.address}>`)).code).toBe(250);
    expect((await smtp.command("RSET")).code).toBe(250);
    expect((await send(smtp, [b.connection.address], "after_rset.csv")).code).toBe(250);
    smtp.close();
    expect(await fileNames(a)).not.toContain("after_rset.csv");
    expect(await fileNames(b)).toContain("after_rset.csv");
  });
});

describe("SMTP amplification", () => {
  it("stores one copy per connection however often it is addressed", async () => {
    const smtp = await session();
    const res = await send(smtp, Array(40).fill(a.connection.address), "repeated.csv");
    smtp.close();
    expect(res.code).toBe(250);
    expect(res.text).toMatch(/1 file received/);
    expect((await fileNames(a)).filter((n) => n === "repeated.csv")).toHaveLength(1);
  });

  it("caps the recipients of one message (452 beyond)", async () => {
    const smtp = await session();
    await smtp.command("MAIL FROM:<mta@sender.example>");
    // Unknown addresses are refused at RCPT and never count; the cap counts accepted ones, so use real ones.
    const extra = await Promise.all(Array.from({ length: 20 }, (_, i) => tenant(`Many ${i}`)));
    const answers = [];
    for (const t of [a, ...extra])
      answers.push((await smtp.command(`RCPT TO:<${t.connection.address}>`)).code);
    smtp.close();
    expect(answers.slice(0, 20)).toEqual(Array(20).fill(250));
    expect(answers[20]).toBe(452);
  });

  it("advertises SIZE and refuses a declared size over it at MAIL FROM", async () => {
    const smtp = await connectSmtp(smtpPort);
    const ehlo = await smtp.command("EHLO mta.example");
    expect(ehlo.text).toContain(`SIZE ${LIMIT}`);
    const mail = await smtp.command(`MAIL FROM:<mta@sender.example> SIZE=${LIMIT * 10}`);
    smtp.close();
    expect(mail.code).toBe(552);
  });

  it("stops writing a message at the size limit, and keeps nothing of it", async () => {
    const tmp = path.join(dir, "data", "files", "tmp");
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const names = await readdir(tmp).catch(() => [] as string[]);
        let total = 0;
        for (const n of names) total += (await stat(path.join(tmp, n)).catch(() => ({ size: 0 }))).size;
        peak = Math.max(peak, total);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const smtp = await session();
    const before = await fileNames(a);
    // 8 MiB of attachment (about 11 MiB as base64) against a 1 MiB limit.
    const big = `OrderId\n${"1234567,\n".repeat(1024 * 1024)}`;
    await smtp.command("MAIL FROM:<mta@sender.example>");
    await smtp.command(`RCPT TO:<${a.connection.address}>`);
    const started = Date.now();
    const answer = await smtp.data(
      mailWithAttachment("mta@sender.example", a.connection.address, "huge.csv", big),
    );
    smtp.close();
    sampling = false;
    await sampler;
    expect(answer.code, ferry.output()).toBe(552);
    expect(Date.now() - started).toBeLessThan(20_000);
    // A little over the limit may be in flight when it is noticed; far less than the 8 MiB sent.
    expect(peak).toBeLessThan(2 * LIMIT);
    expect((await readdir(tmp)).length).toBe(0);
    expect(await fileNames(a)).toEqual(before);
  });
});

describe("SMTP: a message cut off", () => {
  it("keeps nothing of a message whose connection drops in the middle of DATA", async () => {
    const tmp = path.join(dir, "data", "files", "tmp");
    const before = await fileNames(a);
    const smtp = await session();
    await smtp.command("MAIL FROM:<mta@sender.example>");
    await smtp.command(`RCPT TO:<${a.connection.address}>`);
    expect((await smtp.command("DATA")).code).toBe(354);
    const half = mailWithAttachment(
      "mta@sender.example",
      a.connection.address,
      "cut.csv",
      "x".repeat(300_000),
    );
    smtp.socket.write(half.slice(0, half.length / 2).replace(/\n/g, "\r\n"));
    await new Promise((r) => setTimeout(r, 300));
    smtp.socket.destroy();
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      left = await readdir(tmp);
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toEqual([]);
    expect(await fileNames(a)).toEqual(before);
  });
});
