/**
 * Allowed senders are verified, not trusted: anyone can write a listed address in MAIL FROM. A listed
 * sender's message is taken only when SPF passes for its domain, or a valid DKIM signature of its domain
 * covers it, and DMARC does not fail for the From: header — checked against a real DNS server (dnsmasq) that
 * publishes the made-up domains' records.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { dkimSign } from "mailauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { type PrivateDns, startDns } from "../helpers/dns.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";
import { connectSmtp, mailWithAttachment } from "../helpers/smtp.js";

const ADMIN = `senders_admin_${randomBytes(8).toString("hex")}`;
const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
const publicKey = keys.publicKey.export({ type: "spki", format: "der" }).toString("base64");
const privateKey = keys.privateKey.export({ type: "pkcs8", format: "pem" }).toString();

let dir: string;
let database: { url: string; drop: () => Promise<void> };
let dns: PrivateDns;
let ferry: RunningFerry;
let smtpPort: number;
let token: string;
let listing: { id: string; address: string };
let open: { id: string; address: string };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-senders-"));
  database = await createTestDatabase();
  dns = await startDns({
    // brand.test sends from this machine (SPF), and publishes a DMARC policy.
    "brand.test": "v=spf1 ip4:127.0.0.1 -all",
    "_dmarc.brand.test": "v=DMARC1; p=reject",
    // signs.test sends from elsewhere (its SPF does not list us) but signs its mail with DKIM.
    "signs.test": "v=spf1 ip4:192.0.2.10 -all",
    "mail._domainkey.signs.test": `v=DKIM1; k=rsa; p=${publicKey}`,
    "_dmarc.signs.test": "v=DMARC1; p=reject",
    // bare.test publishes nothing: it cannot be verified.
  });
  smtpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SMTP_PORT: String(smtpPort),
    FERRY_EMAIL_DOMAIN: "in.ferry.test",
    FERRY_DNS_SERVERS: dns.server,
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_LOG_LEVEL: "error",
  });
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", {
    name: "Brand",
    type: "brand",
  });
  token = (await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`)).token;
  const email = (name: string, details: Record<string, unknown>) =>
    apiCall(ferry.url, token, "POST", "/api/v1/connections", {
      name,
      direction: "inbound",
      dataType: "clicks",
      method: "email",
      methodology: "push_to_platform",
      details,
    });
  listing = await email("Listed senders", {
    allowedSenders: ["erp@brand.test", "erp@signs.test", "erp@bare.test"],
  });
  open = await email("Any sender", {});
});

afterAll(async () => {
  await ferry?.stop();
  dns?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** Sends one message over SMTP from 127.0.0.1; the final reply. */
async function send(envelopeFrom: string, to: string[], message: string) {
  const smtp = await connectSmtp(smtpPort);
  try {
    expect((await smtp.command("EHLO mta.sender.test")).code).toBe(250);
    expect((await smtp.command(`MAIL FROM:<${envelopeFrom}>`)).code).toBe(250);
    for (const rcpt of to) expect((await smtp.command(`RCPT TO:<${rcpt}>`)).code).toBe(250);
    return await smtp.data(message);
  } finally {
    smtp.close();
  }
}

const message = (from: string, to: string, file: string) =>
  mailWithAttachment(
    from,
    to,
    file,
    "ClickId,CampaignId,MediaId,EventDate\nc1,1,1,2026-11-30T10:00:00Z\n",
  ).replace(/\r?\n/g, "\r\n");

async function signed(from: string, to: string, file: string, domain = "signs.test") {
  const text = message(from, to, file);
  // mailauth 4's typings lack signatureData, which its dkimSign reads (top-level keys alone sign nothing).
  const options = { signatureData: [{ signingDomain: domain, selector: "mail", privateKey }] };
  const { signatures, errors } = await dkimSign(text, options as unknown as Parameters<typeof dkimSign>[1]);
  expect(errors).toEqual([]);
  expect(signatures).toMatch(/^DKIM-Signature: /);
  return signatures + text;
}

const received = async (connectionId: string) =>
  (await apiCall(ferry.url, token, "GET", `/api/v1/connections/${connectionId}/transfers`)).items.map(
    (t: { fileName: string }) => t.fileName,
  );

describe("allowed senders, verified", () => {
  it("takes a listed sender's mail that its domain's SPF allows", async () => {
    const r = await send(
      "erp@brand.test",
      [listing.address],
      message("erp@brand.test", listing.address, "spf_ok.csv"),
    );
    expect(r.code, r.text).toBe(250);
    expect(await received(listing.id)).toContain("spf_ok.csv");
  });

  it("takes a listed sender's mail signed with DKIM by its domain, though SPF does not list this server", async () => {
    const r = await send(
      "erp@signs.test",
      [listing.address],
      await signed("erp@signs.test", listing.address, "dkim_ok.csv"),
    );
    expect(r.code, r.text).toBe(250);
    expect(await received(listing.id)).toContain("dkim_ok.csv");
  });

  it("refuses a forged listed sender: SPF fails and nothing is signed", async () => {
    const r = await send(
      "erp@signs.test",
      [listing.address],
      message("erp@signs.test", listing.address, "forged.csv"),
    );
    expect(r.code).toBe(550);
    expect(r.text).toMatch(
      /Sender not verified: sender erp@signs.test is not verified: SPF fail for signs.test from 127.0.0.1, no DKIM signature/,
    );
    expect(await received(listing.id)).not.toContain("forged.csv");
  });

  it("refuses a message changed after it was signed", async () => {
    const tampered = (await signed("erp@signs.test", listing.address, "tampered.csv")).replace(
      "see attached",
      "see attached, and pay me",
    );
    const r = await send("erp@signs.test", [listing.address], tampered);
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/DKIM (fail|neutral)/);
  });

  it("refuses a signature of another domain, and a domain that publishes neither SPF nor DKIM", async () => {
    const other = await send(
      "erp@signs.test",
      [listing.address],
      await signed("erp@signs.test", listing.address, "other.csv", "brand.test"),
    );
    expect(other.code).toBe(550);
    const bare = await send(
      "erp@bare.test",
      [listing.address],
      message("erp@bare.test", listing.address, "bare.csv"),
    );
    expect(bare.code).toBe(550);
    expect(bare.text).toMatch(/SPF none for bare.test.*no DKIM signature/);
  });

  it("refuses mail whose From: header claims a domain that DMARC does not let it use", async () => {
    // The envelope sender passes SPF, but the From: header says signs.test, which neither SPF nor DKIM backs.
    const r = await send(
      "erp@brand.test",
      [listing.address],
      message("ceo@signs.test", listing.address, "spoof.csv"),
    );
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/DMARC fails for the From: header's domain signs.test/);
  });

  it("leaves connections that list no senders as they were, in the same message", async () => {
    const r = await send(
      "erp@bare.test",
      [open.address, listing.address],
      message("erp@bare.test", open.address, "both.csv"),
    );
    // The connection without a list takes it; the listing one does not.
    expect(r.code).toBe(250);
    expect(await received(open.id)).toContain("both.csv");
    expect(await received(listing.id)).not.toContain("both.csv");
  });
});
