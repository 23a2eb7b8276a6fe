/**
 * OpenPGP both ways, against real GnuPG: the partner (gpg, its own key) encrypts and signs inbound files to the
 * key Ferry generated for the account, and they process; gpg decrypts and verifies the files Ferry generates
 * for the partner. Every refusal (plaintext where encryption is required, wrong key, unsigned, signed by
 * someone else, truncated, altered, expired partner key) is one clear error and applies nothing.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRun } from "../../src/pipeline/generate.js";
import { useTestApi } from "../helpers/api.js";
import { createProgram, daysAgo, fileRunner, outboundReport, type Program } from "../helpers/platform.js";
import { zip } from "../helpers/zip.js";

const api = useTestApi();
let p: Program;
let other: Program;
const run = fileRunner(api, () => p);
const home = mkdtempSync(path.join(tmpdir(), "ferry-gpg-"));
const work = mkdtempSync(path.join(tmpdir(), "ferry-gpg-files-"));

/** gpg with the test's own keyring; input bytes on stdin, output bytes returned. */
const gpg = (args: string[], input?: Buffer | string) =>
  execFileSync("gpg", ["--homedir", home, "--batch", "--yes", "--trust-model", "always", ...args], {
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
/** gpg's output and its status lines (for "Good signature"). */
const gpgDecrypt = (file: Buffer) => {
  const f = path.join(work, `in-${Math.random()}`);
  writeFileSync(f, file);
  const status = path.join(work, `status-${Math.random()}`);
  const out = gpg(["--status-file", status, "--decrypt", f]);
  return { out, status: readFileSync(status, "utf8") };
};
/** A new gpg key (no passphrase); returns its fingerprint. */
const newGpgKey = (uid: string, expire = "1y") => {
  gpg(["--passphrase", "", "--quick-gen-key", uid, "default", "default", expire]);
  const listing = gpg(["--with-colons", "--list-keys", uid]).toString();
  return listing.match(/^fpr:+([0-9A-F]{40}):/m)![1]!;
};

const call = async (method: string, url: string, body?: unknown, token = p.token) => {
  const res = await api.current.call(token, method, url, body);
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

const HEADER = "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,MediaId,Amount";
const csv = (...orders: string[]) =>
  `${HEADER}\n${orders.map((o) => `${p.campaignId},${p.percentTracker},${daysAgo(1)},${o},,${p.partnerA},10.00`).join("\n")}\n`;
const actions = async () =>
  Number((await api.current.db.pool.query("SELECT count(*) AS n FROM actions")).rows[0].n);

let ferryKey: { id: string; fingerprint: string };
let partnerFpr: string;
let strangerFpr: string;
let partnerKeyId: string;
const conversions = () => `/api/v1/connections/${p.connections.conversions}`;

beforeAll(async () => {
  p = await createProgram(api.current);
  other = await createProgram(api.current);
  ferryKey = await call("POST", "/api/v1/pgp-keys", { name: "Inbound files" });
  const res = await api.current.app.inject({
    method: "GET",
    url: `/api/v1/pgp-keys/${ferryKey.id}/public`,
    headers: { authorization: `Bearer ${p.token}` },
  });
  expect(res.headers["content-type"]).toMatch(/application\/pgp-keys/);
  gpg(["--import"], res.body);
  partnerFpr = newGpgKey("Partner Feeds <feeds@partner.example>");
  strangerFpr = newGpgKey("Someone Else <else@stranger.example>");
  const partner = await call("POST", "/api/v1/pgp-keys/partner", {
    name: "Partner feeds",
    publicKey: gpg(["--armor", "--export", partnerFpr]).toString(),
  });
  partnerKeyId = partner.id;
  expect(partner).toMatchObject({ kind: "partner", fingerprint: partnerFpr, status: "active" });
  expect(partner.algorithm).toMatch(/^(RSA \d+|Curve25519)$/);
}, 120_000);

afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe("keys", () => {
  it("generates the account's key pair, shows its fingerprint as gpg does, never its private key", async () => {
    const { items } = await call("GET", "/api/v1/pgp-keys");
    const own = items.find((k: { id: string }) => k.id === ferryKey.id);
    expect(own).toMatchObject({ kind: "own", algorithm: "Curve25519", status: "active", expiry: null });
    expect(own.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    // gpg reads the same fingerprint from the downloaded public key, and the key expires in two years.
    const listing = gpg(["--with-colons", "--list-keys", own.fingerprint]).toString();
    expect(listing).toContain(`fpr:::::::::${own.fingerprint}:`);
    const expires = new Date(own.expiresAt).getTime() - Date.now();
    expect(Math.round(expires / 86_400_000)).toBe(730);
    expect(JSON.stringify(items)).not.toMatch(/PRIVATE KEY/);
    const sealed = await api.current.db.pool.query("SELECT private_key_sealed FROM pgp_keys WHERE id = $1", [
      own.id,
    ]);
    expect(sealed.rows[0].private_key_sealed).toMatch(/^v1\./);
  });

  it("generates RSA 4096 without expiry", async () => {
    const key = await call("POST", "/api/v1/pgp-keys", {
      name: "Long-lived",
      algorithm: "rsa4096",
      expiresInDays: null,
    });
    expect(key).toMatchObject({ algorithm: "RSA 4096", expiresAt: null });
    await call("PATCH", `/api/v1/pgp-keys/${key.id}`, { status: "retired" });
  }, 60_000);

  it("refuses a private key, garbage, an expired key; another account sees none of them", async () => {
    const refused = async (publicKey: string) =>
      (await api.current.call(p.token, "POST", "/api/v1/pgp-keys/partner", { name: "x", publicKey })).body
        .error.message;
    const secret = gpg([
      "--armor",
      "--pinentry-mode",
      "loopback",
      "--passphrase",
      "",
      "--export-secret-keys",
      partnerFpr,
    ]);
    expect(await refused(secret.toString())).toMatch(/is a private key; never share it/);
    expect(await refused("hello")).toMatch(/not an armored OpenPGP public key/);
    const dup = await api.current.call(p.token, "POST", "/api/v1/pgp-keys/partner", {
      name: "again",
      publicKey: gpg(["--armor", "--export", partnerFpr]).toString(),
    });
    expect(dup.status).toBe(409);
    const theirs = await api.current.call(other.token, "GET", `/api/v1/pgp-keys/${ferryKey.id}/public`);
    expect(theirs.status).toBe(404);
    expect((await call("GET", "/api/v1/pgp-keys", undefined, other.token)).items).toEqual([]);
    // A connection of the other account cannot name this account's key.
    const patch = await api.current.call(
      other.token,
      "PATCH",
      `/api/v1/connections/${other.connections.conversions}`,
      {
        details: { pgpSignedBy: partnerKeyId },
      },
    );
    expect(patch.status).toBe(400);
    expect(patch.body.error.message).toMatch(/no PGP key with this id/);
  });
});

describe("limits", () => {
  it("refuses a key past the account's 100 before spending the CPU to generate it", async () => {
    const { id, token } = await api.current.newAccount();
    await api.current.db.pool.query(
      `INSERT INTO pgp_keys (id, account_id, kind, name, fingerprint, key_id, algorithm, public_key)
       SELECT gen_random_uuid(), $1, 'partner', 'k' || n, lpad(n::text, 40, '0'), lpad(n::text, 16, '0'), 'RSA 3072', 'x'
       FROM generate_series(1, 100) n`,
      [id],
    );
    const started = Date.now();
    const res = await api.current.call(token, "POST", "/api/v1/pgp-keys", {
      name: "one more",
      algorithm: "rsa4096",
    });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/at most 100 PGP keys/);
    expect(Date.now() - started).toBeLessThan(400);
  });
});

describe("inbound: files the partner encrypted with gpg", () => {
  it("decrypts, verifies the partner's signature, and processes; the stored original stays encrypted", async () => {
    await call("PATCH", conversions(), { details: { pgpEncryption: "required", pgpSignedBy: partnerKeyId } });
    const before = await actions();
    const body = gpg(
      ["--encrypt", "--sign", "-r", ferryKey.fingerprint, "-u", partnerFpr],
      csv("PGP-1", "PGP-2"),
    );
    const { transfer, summary } = await run("conversions", "orders.csv.gpg", body);
    expect(summary.rows, JSON.stringify(summary)).toMatchObject({ total: 2, ok: 2, error: 0 });
    expect(transfer.status).toBe("processed");
    expect(await actions()).toBe(before + 2);
    const stored = await api.current.app.inject({
      method: "GET",
      url: `/api/v1/transfers/${transfer.id}/content`,
      headers: { authorization: `Bearer ${p.token}` },
    });
    expect(Buffer.compare(stored.rawPayload, body)).toBe(0);
  });

  it("reads armored messages, and gzip or zip inside the encryption", async () => {
    const armoredGzip = gpg(
      ["--armor", "--encrypt", "--sign", "-r", ferryKey.fingerprint, "-u", partnerFpr],
      gzipSync(csv("PGP-GZ-1")),
    );
    expect(armoredGzip.toString()).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const a = await run("conversions", "orders.csv.gz.asc", armoredGzip);
    expect(a.summary.rows, JSON.stringify(a.summary)).toMatchObject({ total: 1, ok: 1 });
    const zipped = gpg(
      ["--encrypt", "--sign", "-r", ferryKey.fingerprint, "-u", partnerFpr],
      zip([{ name: "orders.csv", data: Buffer.from(csv("PGP-ZIP-1", "PGP-ZIP-2")) }]),
    );
    const z = await run("conversions", "orders.zip.pgp", zipped);
    expect(z.summary.rows, JSON.stringify(z.summary)).toMatchObject({ total: 2, ok: 2 });
  });

  it("refuses, each in words, and applies nothing", async () => {
    const cases: [string, Buffer | string, string, RegExp][] = [
      [
        "plain.csv",
        csv("NO-1"),
        "PGP_NOT_ENCRYPTED",
        /not OpenPGP-encrypted, and this connection requires encryption/,
      ],
      [
        "unsigned.csv.gpg",
        gpg(["--encrypt", "-r", ferryKey.fingerprint], csv("NO-2")),
        "PGP_NOT_SIGNED",
        /not signed, and this connection requires a signature by the partner's key "Partner feeds"/,
      ],
      [
        "stranger.csv.gpg",
        gpg(["--encrypt", "--sign", "-r", ferryKey.fingerprint, "-u", strangerFpr], csv("NO-3")),
        "PGP_BAD_SIGNATURE",
        new RegExp(`signed with key ${strangerFpr.slice(-16)}, not with the partner's key "Partner feeds"`),
      ],
      [
        "wrong-key.csv.gpg",
        gpg(["--encrypt", "--sign", "-r", strangerFpr, "-u", partnerFpr], csv("NO-4")),
        "PGP_WRONG_KEY",
        /not to one of the account's active PGP keys \("Inbound files"/,
      ],
      [
        "password.csv.gpg",
        gpg(["--symmetric", "--pinentry-mode", "loopback", "--passphrase", "secret"], csv("NO-5")),
        "PGP_PASSWORD",
        /encrypted with a passphrase/,
      ],
    ];
    const big = csv(...Array.from({ length: 3000 }, (_, i) => `NO-BIG-${i}`));
    const whole = gpg(
      ["--compress-algo", "none", "--encrypt", "--sign", "-r", ferryKey.fingerprint, "-u", partnerFpr],
      big,
    );
    cases.push(["truncated.csv.gpg", whole.subarray(0, whole.length - 500), "PGP_TRUNCATED", /truncated/]);
    const altered = Buffer.from(whole);
    altered[Math.floor(altered.length / 2)]! ^= 0x01;
    cases.push(["altered.csv.gpg", altered, "PGP_", /altered/]);
    const before = await actions();
    for (const [name, body, code, message] of cases) {
      const { transfer, summary } = await run("conversions", name, body);
      expect(transfer.status, name).toBe("failed");
      expect(summary.error.code, `${name}: ${JSON.stringify(summary.error)}`).toContain(code);
      expect(summary.error.message, name).toMatch(message);
    }
    expect(await actions()).toBe(before);
  });

  it("refuses a plain file when only a signature is required", async () => {
    await call("PATCH", conversions(), { details: { pgpEncryption: "accepted" } });
    const { transfer, summary } = await run("conversions", "plain-unsigned.csv", csv("NO-SIG-1"));
    expect(transfer.status).toBe("failed");
    expect(summary.error.code).toBe("PGP_NOT_SIGNED");
    // Signed without encryption (gpg --sign) is a signature too.
    const signed = await run(
      "conversions",
      "signed.csv.gpg",
      gpg(["--sign", "-u", partnerFpr], csv("SIG-ONLY-1")),
    );
    expect(signed.summary.rows, JSON.stringify(signed.summary)).toMatchObject({ total: 1, ok: 1 });
  });

  it("stops a bomb in OpenPGP's own compression like one in gzip", async () => {
    // A real header, then one row a million times: 64 MiB that zlib packs into less than 1 MiB.
    const line = csv("BOMB-1").split("\n")[1]!;
    const body = `${HEADER}\n${`${line}\n`.repeat(Math.ceil((64 * 1024 * 1024) / (line.length + 1)))}`;
    const bomb = gpg(
      [
        "--compress-algo",
        "zlib",
        "-z",
        "9",
        "--encrypt",
        "--sign",
        "-r",
        ferryKey.fingerprint,
        "-u",
        partnerFpr,
      ],
      body,
    );
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const { summary } = await run("conversions", "bomb.csv.gpg", bomb);
    expect(summary.error.code).toBe("ARCHIVE_BOMB");
  });

  it("takes plaintext when encryption is only accepted, and a file encrypted to a retired key is refused by name", async () => {
    await call("PATCH", conversions(), { details: { pgpEncryption: "accepted", pgpSignedBy: null } });
    const plain = await run("conversions", "plain-ok.csv", csv("PLAIN-1"));
    expect(plain.transfer.status).toBe("processed");
    const unsigned = await run(
      "conversions",
      "x.csv.pgp",
      gpg(["--encrypt", "-r", ferryKey.fingerprint], csv("ENC-1")),
    );
    expect(unsigned.transfer.status).toBe("processed");

    const spare = await call("POST", "/api/v1/pgp-keys", { name: "Spare" });
    gpg(
      ["--import"],
      (
        await api.current.app.inject({
          method: "GET",
          url: `/api/v1/pgp-keys/${spare.id}/public`,
          headers: { authorization: `Bearer ${p.token}` },
        })
      ).body,
    );
    await call("PATCH", `/api/v1/pgp-keys/${spare.id}`, { status: "retired" });
    const retired = await run(
      "conversions",
      "old.csv.pgp",
      gpg(["--encrypt", "-r", spare.fingerprint], csv("OLD-1")),
    );
    expect(retired.summary.error.code).toBe("PGP_WRONG_KEY");
    expect(retired.summary.error.message).toMatch(/encrypted to the key "Spare" \(retired\)/);
  });
});

describe("outbound: files Ferry encrypts for the partner", () => {
  const outbound = (name: string, details: Record<string, unknown>) =>
    outboundReport(call, name, { report: "action_listing", ...details });
  const period = { from: daysAgo(10).slice(0, 10), to: daysAgo(-1).slice(0, 10) };

  it("encrypts and signs to the partner's key: gpg decrypts it and says Good signature from Ferry's key", async () => {
    const c = await outbound("Partner report", {
      compression: "gzip",
      pgpEncryptTo: partnerKeyId,
      pgpSign: true,
    });
    const pending = await call("POST", `/api/v1/connections/${c.id}/runs`, period);
    expect(await generateRun(api.current.processDeps, pending.id)).toBe("generated");
    const [done] = (await call("GET", `/api/v1/connections/${c.id}/runs`)).items;
    expect(done.status, JSON.stringify(done)).toBe("generated");
    const transfer = await call("GET", `/api/v1/transfers/${done.transferId}`);
    expect(transfer.fileName).toMatch(/\.csv\.gz\.pgp$/);
    const res = await api.current.app.inject({
      method: "GET",
      url: `/api/v1/transfers/${done.transferId}/content`,
      headers: { authorization: `Bearer ${p.token}` },
    });
    const { out, status } = gpgDecrypt(res.rawPayload);
    expect(status).toMatch(new RegExp(`VALIDSIG ${ferryKey.fingerprint}`));
    expect(status).toMatch(/GOODSIG/);
    const text = (await import("node:zlib")).gunzipSync(out).toString();
    expect(text.split("\n")[0]).toMatch(/order/i);
    expect(text).toContain("PGP-1");
    // The partner key is in use: it cannot be retired.
    const retire = await api.current.call(p.token, "PATCH", `/api/v1/pgp-keys/${partnerKeyId}`, {
      status: "retired",
    });
    expect(retire.status).toBe(409);
    expect(retire.body.error.message).toMatch(/used by "Partner report"/);
  });

  it("fails the run in words when the partner's key has expired", async () => {
    const shortLived = newGpgKey("Short Lived <short@partner.example>", "seconds=4");
    const key = await call("POST", "/api/v1/pgp-keys/partner", {
      name: "Short-lived",
      publicKey: gpg(["--armor", "--export", shortLived]).toString(),
    });
    expect(key.expiry).toBe("expiring");
    const c = await outbound("Expired partner", { pgpEncryptTo: key.id });
    await new Promise((r) => setTimeout(r, 4500));
    const pending = await call("POST", `/api/v1/connections/${c.id}/runs`, period);
    await generateRun(api.current.processDeps, pending.id);
    const [done] = (await call("GET", `/api/v1/connections/${c.id}/runs`)).items;
    expect(done.status).toBe("failed");
    expect(done.error).toMatch(
      /The partner's PGP key "Short-lived" \([0-9A-F]{16}\) expired on \d{4}-\d\d-\d\d/,
    );
  }, 30_000);

  it("refuses signing without encrypting, and an own key named as the partner's", async () => {
    const noEncrypt = await api.current.call(p.token, "POST", "/api/v1/connections", {
      name: "sign only",
      direction: "outbound",
      dataType: "reports",
      method: "email",
      methodology: "pull_from_platform",
      details: { report: "action_listing", recipients: ["a@example.com"], pgpSign: true },
    });
    expect(noEncrypt.status).toBe(400);
    expect(noEncrypt.body.error.message).toMatch(/pgpSign: signs encrypted files/);
    const own = await api.current.call(p.token, "PATCH", conversions(), {
      details: { pgpSignedBy: ferryKey.id },
    });
    expect(own.status).toBe(400);
    expect(own.body.error.message).toMatch(/is one of your own keys/);
  });
});
