/** Inbound email with a real SMTP client (swaks): attachments become processed Transfers; bad mail is refused. */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { type PrivateDns, startDns } from "../helpers/dns.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { type MailSink, type SunkMail, startMailSink } from "../helpers/mail-sink.js";
import { freePort } from "../helpers/ports.js";

const ADMIN = "admin_token_for_email_e2e_0123456789abcdef";
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let smtpPort: number;
let dns: PrivateDns;
let token: string;
let connection: { id: string; address: string };
let program: { campaignId: number; trackerId: number; partnerId: number };
/** A real SMTP server standing for the customer's mail system: Ferry's relay in these tests. */
let sink: MailSink;
/** What the relay delivered. */
let received: SunkMail[] = [];

const api = (method: string, p: string, body?: unknown) => apiCall(ferry.url, token, method, p, body);

/** Sends one message with swaks (STARTTLS); resolves with its exit code and transcript. */
function swaks(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      "swaks",
      ["--server", `127.0.0.1:${smtpPort}`, "--tls", "--helo", "client.test", ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

async function orders(name: string, orderPrefix: string): Promise<string> {
  const file = path.join(dir, name);
  const at = new Date(Date.now() - 86_400_000).toISOString();
  const rows = [1, 2, 3].map(
    (n) =>
      `${program.campaignId},${program.trackerId},${at},${orderPrefix}${n},${program.partnerId},${n}0.00`,
  );
  await writeFile(file, `CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount\n${rows.join("\n")}\n`);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-email-e2e-"));
  database = await createTestDatabase();
  smtpPort = await freePort();
  sink = await startMailSink();
  received = sink.mails;
  // The listed sender's domain lets this machine send its mail (SPF): allowed senders are verified.
  dns = await startDns({ "brand.test": "v=spf1 ip4:127.0.0.1 -all" });
  ferry = await startServe({
    FERRY_DNS_SERVERS: dns.server,
    FERRY_SMTP_RELAY_URL: sink.url,
    FERRY_MAIL_FROM: "reports@ferry.test",
    FERRY_EMAIL_ATTACHMENT_MAX_BYTES: "400",
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_SMTP_PORT: String(smtpPort),
    FERRY_EMAIL_DOMAIN: "in.ferry.test",
    FERRY_SMTP_MAX_MESSAGE_BYTES: String(256 * 1024),
    FERRY_LOG_LEVEL: "warn",
  });
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", {
    name: "Mail brand",
    type: "brand",
  });
  token = (await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`, {})).token;
  const campaign = await api("POST", "/api/v1/campaigns", { name: "Mail" });
  const tracker = await api("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
    name: "Sale",
    payout: { type: "percent", value: 10 },
  });
  const partner = await api("POST", "/api/v1/partners", { name: "P" });
  program = { campaignId: campaign.id, trackerId: tracker.id, partnerId: partner.id };
  connection = await api("POST", "/api/v1/connections", {
    name: "Orders by mail",
    direction: "inbound",
    dataType: "conversions",
    method: "email",
    methodology: "push_to_platform",
    details: { filePattern: "orders_*.csv", allowedSenders: ["erp@brand.test"] },
  });
});

afterAll(async () => {
  await ferry?.stop();
  dns?.stop();
  await sink?.close();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function transfers() {
  return (await api("GET", `/api/v1/connections/${connection.id}/transfers`)).items as {
    id: string;
    fileName: string;
    status: string;
    protocol: string;
    rows: { ok: number } | null;
  }[];
}

describe("inbound email", () => {
  it("gives each inbound email connection its own hard-to-guess address", () => {
    expect(connection.address).toMatch(/^orders-by-mail-[a-z2-9]{10}@in\.ferry\.test$/);
  });

  it("takes matching attachments over STARTTLS as Transfers, processed like any upload", async () => {
    const file = await orders("orders_0301.csv", "MAIL-");
    const res = await swaks([
      "--to",
      connection.address,
      "--from",
      "erp@brand.test",
      "--attach",
      `@${file}`,
      "--attach",
      `@${await orders("notes.csv", "X-")}`,
    ]);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toMatch(/250 .*1 file received/);
    expect(res.out).toMatch(/STARTTLS/);
    let list = await transfers();
    for (let i = 0; i < 100 && list[0]?.status !== "processed"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      list = await transfers();
    }
    expect(list.map((t) => [t.fileName, t.protocol, t.status, t.rows?.ok])).toEqual([
      ["orders_0301.csv", "email", "processed", 3],
    ]);
  });

  it("refuses mail for an unknown address at RCPT", async () => {
    const res = await swaks([
      "--to",
      "nobody-here@in.ferry.test",
      "--from",
      "erp@brand.test",
      "--attach",
      `@${await orders("orders_x.csv", "U-")}`,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/550 .*No such mailbox/);
  });

  it("refuses a sender the connection does not allow", async () => {
    const res = await swaks([
      "--to",
      connection.address,
      "--from",
      "intruder@else.example",
      "--attach",
      `@${await orders("orders_y.csv", "I-")}`,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/550 .*not allowed/);
  });

  it("refuses a message without a matching attachment, saying what it expects", async () => {
    const res = await swaks([
      "--to",
      connection.address,
      "--from",
      "erp@brand.test",
      "--attach",
      `@${await orders("report.csv", "R-")}`,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/550 .*No attachment matches orders_\*\.csv \(got: report\.csv\)/);
  });

  it("refuses a message over the size limit, and records nothing of it", async () => {
    const big = path.join(dir, "orders_big.csv");
    await writeFile(
      big,
      `CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount\n${"x".repeat(400 * 1024)}\n`,
    );
    const before = (await transfers()).length;
    const res = await swaks(["--to", connection.address, "--from", "erp@brand.test", "--attach", `@${big}`]);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/552/);
    expect((await transfers()).length).toBe(before);
  });

  it("sends generated files to the connection's recipients: attached when small, as a link when large", async () => {
    const c = await api("POST", "/api/v1/connections", {
      name: "Finance by mail",
      direction: "outbound",
      dataType: "reports",
      method: "email",
      methodology: "pull_from_platform",
      details: { report: "action_listing", recipients: ["finance@brand.example"] },
    });
    const run = async (from: string, to: string) => {
      const pending = await api("POST", `/api/v1/connections/${c.id}/runs`, { from, to });
      for (let i = 0; i < 100; i++) {
        const [r] = (await api("GET", `/api/v1/connections/${c.id}/runs`)).items;
        if (r.status === "generated") {
          const t = await api("GET", `/api/v1/transfers/${r.transferId}`);
          if (t.status === "delivered") return { run: r, transfer: t };
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`run ${pending.id} not delivered`);
    };
    // An empty period: a header-only file, small enough to attach.
    const small = await run("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z");
    const mail1 = received.at(-1)!;
    expect(mail1.to).toEqual(["finance@brand.example"]);
    expect(mail1.subject).toBe(`Finance by mail: ${small.transfer.fileName}`);
    expect(mail1.attachments.map((a) => a.filename)).toEqual([small.transfer.fileName]);
    expect(mail1.attachments[0]!.content.toString()).toMatch(/^ActionId,CampaignId/);
    // The mailed orders of the earlier test: larger than the 400-byte limit, so a link.
    const big = await run(
      new Date(Date.now() - 7 * 86_400_000).toISOString(),
      new Date(Date.now() + 60_000).toISOString(),
    );
    const mail2 = received.at(-1)!;
    expect(mail2.attachments).toEqual([]);
    const link = /(http:\/\/\S+\/downloads\/\S+)/.exec(mail2.text)![1]!;
    const res = await fetch(link.replace(/^http:\/\/[^/]+/, ferry.url));
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.trim().split("\n")).toHaveLength(big.run.rows + 1);
    expect(mail2.text).toMatch(/the link works 10 times/);
    // Ten uses in all, then the link is used up.
    const again = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(link.replace(/^http:\/\/[^/]+/, ferry.url)).then((r) => r.status),
      ),
    );
    expect(again.filter((s) => s === 200)).toHaveLength(9);
    expect(again.filter((s) => s === 404)).toHaveLength(1);
    expect((await fetch(`${ferry.url}/downloads/${"x".repeat(43)}`)).status).toBe(404);
    // The node's metrics: both runs generated, both files delivered by email (the second as a link).
    const metrics = await (await fetch(`${ferry.url}/metrics`)).text();
    expect(metrics).toMatch(/^ferry_outbound_runs_total\{status="generated"\} 2$/m);
    expect(metrics).toMatch(/^ferry_deliveries_total\{kind="email",status="delivered"\} 2$/m);
  });

  it("mails the receipt, summary and errors back to the connection's return address", async () => {
    await api("PATCH", `/api/v1/connections/${connection.id}`, {
      details: { returnAddress: "erp@brand.test" },
    });
    const file = path.join(dir, "orders_0302.csv");
    const at = new Date(Date.now() - 86_400_000).toISOString();
    await writeFile(
      file,
      `CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount\n${program.campaignId},${program.trackerId},${at},RET-1,${program.partnerId},5.00\n${program.campaignId},${program.trackerId},${at},RET-2,${program.partnerId},oops\n`,
    );
    const res = await swaks(["--to", connection.address, "--from", "erp@brand.test", "--attach", `@${file}`]);
    expect(res.code, res.out).toBe(0);
    let mail: (typeof received)[number] | undefined;
    for (let i = 0; i < 100 && !mail; i++) {
      await new Promise((r) => setTimeout(r, 100));
      mail = received.find((m) => m.subject.startsWith("Results: orders_0302.csv"));
    }
    expect(mail).toBeDefined();
    expect(mail!.to).toEqual(["erp@brand.test"]);
    expect(mail!.subject).toBe("Results: orders_0302.csv: partial (1 of 2 rows taken)");
    expect(mail!.attachments.map((a) => a.filename)).toEqual([
      "receipt_orders_0302.txt",
      "orders_0302_summary.json",
      "orders_0302_errors.csv",
    ]);
    expect(mail!.attachments[2]!.content.toString()).toContain("INVALID_AMOUNT");
  });
});
