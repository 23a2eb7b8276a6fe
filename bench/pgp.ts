/**
 * OpenPGP, measured against GnuPG in the same run:
 *
 *   1. Decryption throughput: a product catalog CSV of --mb MiB (default 512), encrypted by gpg with its
 *      defaults (as a partner would: compressed, AES-256) to a Curve25519 key and to an RSA 3072 key made as
 *      Ferry makes them. `gpg --decrypt` of each file to /dev/null against Ferry's decrypting stream
 *      (src/pipeline/pgp.ts, the code the pipeline runs) reading the same file with the same key. MB/s of
 *      plaintext and the ratio; best of --runs runs each.
 *   2. Memory: a running Ferry takes a catalog of --catalog-mb MiB (default 2048) that gpg encrypted to the
 *      account's key (made by Ferry, exported through the API), decrypts and processes it: Ferry's peak RSS,
 *      sampled every 50 ms (target < 300 MB), and the time from upload close to processed.
 *
 *   npm run bench:pgp [-- --mb 512 --runs 3 --catalog-mb 2048]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { chmod, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as openpgp from "openpgp";
import { catalogCsvLines } from "../src/demo/samples.js";
import type { PgpKeyring } from "../src/domain/pgp-keys.js";
import { decrypted } from "../src/pipeline/pgp.js";
import { memoryOf, startFerryWithDatabase, uploadFile, waitProcessed, writeLines } from "./ferry.js";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "512" },
    runs: { type: "string", default: "3" },
    "catalog-mb": { type: "string", default: "2048" },
  },
});
const MB = Number(values.mb);
const RUNS = Number(values.runs);
const CATALOG_MB = Number(values["catalog-mb"]);
/** Bytes of an average catalog line (catalogCsvLines). */
const CATALOG_LINE = 196;

const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-pgp-"));
// The embedded PostgreSQL runs as another user when this runs as root: it must reach its data directory.
await chmod(dir, 0o755);
const home = path.join(dir, "gnupg");
await mkdir(home, { mode: 0o700 });
const gpg = (args: string[], input?: string) =>
  execFileSync("gpg", ["--homedir", home, "--batch", "--yes", "--trust-model", "always", ...args], {
    input,
    stdio: ["pipe", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });

try {
  // 1. Throughput.
  const plain = path.join(dir, "catalog.csv");
  const size = await writeLines(plain, catalogCsvLines(Math.round((MB * 1024 * 1024) / CATALOG_LINE)));
  for (const [label, options] of [
    ["Curve25519", { type: "ecc", curve: "curve25519Legacy" }],
    ["RSA 3072", { type: "rsa", rsaBits: 3072 }],
  ] as const) {
    const { privateKey } = await openpgp.generateKey({
      ...options,
      userIDs: [{ name: `Bench ${label}` }],
      format: "object",
    });
    gpg(["--import"], privateKey.armor());
    const encrypted = path.join(dir, `catalog-${privateKey.getKeyID().toHex()}.csv.gpg`);
    gpg(["--output", encrypted, "--encrypt", "--recipient", privateKey.getFingerprint(), plain]);
    const encryptedSize = (await stat(encrypted)).size;
    const keyring: PgpKeyring = {
      ownKeys: async () => [
        { key: privateKey, name: label, fingerprint: privateKey.getFingerprint(), expiresAt: null },
      ],
      partnerKey: async () => null,
      describeKeyIds: async () => [],
    };
    let gpgBest = Number.POSITIVE_INFINITY;
    let ferryBest = Number.POSITIVE_INFINITY;
    for (let run = 0; run < RUNS; run++) {
      let started = performance.now();
      const done = spawnSync(
        "gpg",
        ["--homedir", home, "--batch", "--quiet", "--output", "/dev/null", "--decrypt", encrypted],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      if (done.status !== 0) throw new Error(`gpg --decrypt: ${done.stderr}`);
      gpgBest = Math.min(gpgBest, (performance.now() - started) / 1000);

      started = performance.now();
      const stream = await decrypted(
        createReadStream(encrypted, { highWaterMark: 1024 * 1024 }),
        "binary",
        { keyring, accountId: "bench", required: true },
        16 * 1024 ** 3,
      );
      let bytes = 0;
      for await (const chunk of stream) bytes += (chunk as Buffer).length;
      if (bytes !== size) throw new Error(`Ferry decrypted ${bytes} bytes of ${size}`);
      ferryBest = Math.min(ferryBest, (performance.now() - started) / 1000);
    }
    const rate = (s: number) => size / 1e6 / s;
    console.log(
      `decrypt ${label}: ${(size / 1e6).toFixed(0)} MB of CSV (${(encryptedSize / 1e6).toFixed(0)} MB encrypted by gpg): gpg --decrypt ${rate(gpgBest).toFixed(0)} MB/s, Ferry ${rate(ferryBest).toFixed(0)} MB/s — ${(gpgBest / ferryBest).toFixed(2)}× gpg`,
    );
    await rm(encrypted);
  }
  await rm(plain);

  // 2. Memory, through a running Ferry.
  if (CATALOG_MB > 0) {
    const { ferry, admin, db, call } = await startFerryWithDatabase(dir);
    try {
      const key = await call("POST", "/api/v1/pgp-keys", { name: "Bench" });
      const res = await fetch(`${ferry.url}/api/v1/pgp-keys/${key.id}/public`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      gpg(["--import"], await res.text());
      const credential = await call("POST", "/api/v1/credentials", { name: "bench", kind: "password" });
      const catalog = await call("POST", "/api/v1/connections", {
        name: "Bench catalog",
        direction: "inbound",
        dataType: "product_catalog",
        method: "sftp",
        methodology: "push_to_platform",
        credentialId: credential.id,
        details: { pgpEncryption: "required" },
      });
      const file = path.join(dir, "big.csv");
      const items = Math.round((CATALOG_MB * 1024 * 1024) / CATALOG_LINE);
      const size = await writeLines(file, catalogCsvLines(items));
      const encrypted = `${file}.gpg`;
      gpg(["--output", encrypted, "--encrypt", "--recipient", key.fingerprint, file]);
      await rm(file);
      const encryptedSize = (await stat(encrypted)).size;
      const before = (await memoryOf(ferry.pid)).rss;
      const id = await uploadFile(ferry.url, admin, catalog.id, encrypted, "catalog.csv.gpg");
      const started = Date.now();
      let peak = before;
      const status = await waitProcessed(db, id, async () => {
        peak = Math.max(peak, (await memoryOf(ferry.pid)).rss);
      });
      const summary = await call("GET", `/api/v1/transfers/${id}`);
      console.log(
        `memory: catalog of ${(size / 1024 ** 3).toFixed(2)} GiB (${items} items; ${(encryptedSize / 1e6).toFixed(0)} MB encrypted by gpg) ${status}, ${summary.rows?.ok ?? "?"} rows ok, in ${((Date.now() - started) / 1000).toFixed(0)} s; Ferry RSS ${Math.round(before / 1e6)} MB before, peak ${Math.round(peak / 1e6)} MB while decrypted and processed`,
      );
    } finally {
      await db.end();
      await ferry.stop();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 500 });
}
