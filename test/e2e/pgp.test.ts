/**
 * OpenPGP end to end, as a partner works: a running Ferry, the `ferry` CLI making the account's key and
 * importing the partner's, GnuPG encrypting and signing a file that OpenSSH's sftp uploads, and the partner
 * downloading a generated report with sftp and decrypting it with gpg, which checks Ferry's signature.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, clicksLogin, type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { type SshLogin, sftpBatch } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";

const ADMIN = `pgp_admin_${randomBytes(8).toString("hex")}`;
let dir: string;
let home: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let token: string;
let login: SshLogin;
let clicks: { id: string; folder: string };
let program: { campaignId: string; partnerId: string };
let credentialId: string;

const api = (method: string, p: string, body?: unknown) => apiCall(ferry.url, token, method, p, body);
const gpg = (args: string[], input?: Buffer | string) =>
  execFileSync("gpg", ["--homedir", home, "--batch", "--yes", "--trust-model", "always", ...args], {
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
const cli = (args: string[], input?: string) =>
  runCli(args, { FERRY_URL: ferry.url, FERRY_TOKEN: token }, input === undefined ? {} : { input });

async function until<T>(find: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  for (const start = Date.now(); ; ) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-pgp-e2e-"));
  home = path.join(dir, "gnupg");
  execFileSync("mkdir", ["-m", "700", home]);
  database = await createTestDatabase();
  const sftpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_LOG_LEVEL: "warn",
    FERRY_SFTP_PORT: String(sftpPort),
  });
  const account = await clicksLogin(ferry.url, ADMIN, ["sftp"]);
  token = account.token;
  clicks = account.connections.sftp;
  login = { port: sftpPort, ...account.login, workDir: dir };
  credentialId = (await api("GET", `/api/v1/connections/${clicks.id}`)).credentialId;
  const campaign = await api("POST", "/api/v1/campaigns", { name: "Spring", currency: "USD" });
  const partner = await api("POST", "/api/v1/partners", { name: "Partner A" });
  program = { campaignId: campaign.id, partnerId: partner.id };
  gpg([
    "--passphrase",
    "",
    "--quick-gen-key",
    "Partner Ops <ops@partner.example>",
    "default",
    "default",
    "1y",
  ]);
}, 120_000);

afterAll(async () => {
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("PGP with gpg, sftp and the CLI", () => {
  let ferryFpr: string;
  let partnerKeyId: string;
  const partnerFpr = () =>
    gpg(["--with-colons", "--list-keys", "ops@partner.example"])
      .toString()
      .match(/^fpr:+([0-9A-F]{40}):/m)![1]!;

  it("makes the account's key and takes the partner's with the CLI", async () => {
    const made = await cli(["pgp-keys", "create", "Clicks inbound", "--algorithm", "rsa3072"]);
    expect(made.code, made.stderr).toBe(0);
    ferryFpr = made.stdout.match(/^fingerprint:\s+([0-9A-F]{40})$/m)![1]!;
    const id = made.stdout.match(/^id:\s+([0-9a-f-]{36})$/m)![1]!;
    const exported = await cli(["pgp-keys", "export", id]);
    expect(exported.stdout).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    gpg(["--import"], exported.stdout);

    await writeFile(path.join(dir, "partner.asc"), gpg(["--armor", "--export", partnerFpr()]));
    const imported = await cli(["pgp-keys", "import", "Partner Ops", path.join(dir, "partner.asc")]);
    expect(imported.code, imported.stderr).toBe(0);
    partnerKeyId = imported.stdout.match(/^id:\s+([0-9a-f-]{36})$/m)![1]!;
    const list = await cli(["pgp-keys", "list"]);
    expect(list.stdout).toContain(ferryFpr);
    expect(list.stdout).toContain(partnerFpr());
    // A private key given by mistake, on standard input: refused, with the reason.
    const wrong = await cli(
      ["pgp-keys", "import", "oops", "-"],
      gpg(["--armor", "--export-secret-keys", partnerFpr()]).toString(),
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/is a private key; never share it/);
  });

  it("processes a file gpg encrypted and signed, uploaded with OpenSSH's sftp", async () => {
    await api("PATCH", `/api/v1/connections/${clicks.id}`, {
      details: { pgpEncryption: "required", pgpSignedBy: partnerKeyId },
    });
    const body = `ClickId,CampaignId,MediaId,EventDate\nenc-1,${program.campaignId},${program.partnerId},${new Date(Date.now() - 3600_000).toISOString()}\n`;
    const file = path.join(dir, "clicks.csv.gpg");
    await writeFile(file, gpg(["--encrypt", "--sign", "-r", ferryFpr, "-u", partnerFpr()], body));
    const put = await sftpBatch(login, [`put ${file} /${clicks.folder}/inbox/clicks.csv.gpg`]);
    expect(put.code, put.stderr).toBe(0);
    const done = await until(async () => {
      const [t] = (await api("GET", `/api/v1/connections/${clicks.id}/transfers`)).items;
      return t && !["received", "processing"].includes(t.status) ? t : undefined;
    });
    expect(done, JSON.stringify(done)).toMatchObject({ status: "processed", rows: { total: 1, ok: 1 } });
  });

  it("encrypts a report to the partner, who downloads it with sftp and decrypts it with gpg", async () => {
    const report = await api("POST", "/api/v1/connections", {
      name: "Reports for partner",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId,
      details: { report: "action_listing", pgpEncryptTo: partnerKeyId, pgpSign: true },
    });
    await api("POST", `/api/v1/connections/${report.id}/runs`, {});
    const run = await until(async () => {
      const [r] = (await api("GET", `/api/v1/connections/${report.id}/runs`)).items;
      return r && r.status !== "pending" ? r : undefined;
    });
    expect(run, JSON.stringify(run)).toMatchObject({ status: "generated" });
    const transfer = await api("GET", `/api/v1/transfers/${run.transferId}`);
    expect(transfer.fileName).toMatch(/\.csv\.pgp$/);
    const local = path.join(dir, transfer.fileName);
    const got = await sftpBatch(login, [`get /${report.folder}/outbox/${transfer.fileName} ${local}`]);
    expect(got.code, got.stderr).toBe(0);
    const status = path.join(dir, "status");
    const plain = gpg(["--status-file", status, "--decrypt", local]).toString();
    expect(await readFile(status, "utf8")).toContain(`VALIDSIG ${ferryFpr}`);
    expect(plain.split("\n")[0]).toMatch(/Order|Action/i);
  });
});
