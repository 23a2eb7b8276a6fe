/**
 * Folders of any size: 100,000 received files (inserted as rows, as a year of a busy feed leaves them) are
 * listed in full by OpenSSH's sftp and by lftp and curl over FTPS, the newest upload among them, with the time
 * each listing took and Ferry's memory meanwhile. Before, listings stopped at 10,000 names ordered by name, and
 * a new upload named after them was not shown. And FTP's idle timeout applied to data connections: a listing
 * nobody reads is cut, a slow transfer whose bytes move is not (its silent control connection timed out).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { curlFtps, lftpFtps } from "../helpers/ftp-clients.js";
import { type SshLogin, sftpBatch } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";
import { connectRawFtp } from "../helpers/raw-ftp.js";

const ADMIN = `listing_e2e_admin_${randomBytes(8).toString("hex")}`;
const FILES = 100_000;
const RESULTS = 12_001;
const IDLE_SECONDS = 5;

let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let db: pg.Client;
let ftpPort: number;
let sftpLogin: SshLogin;
let ftpLogin: { username: string; password: string };
let sftpFolder: string;
let ftpFolder: string;

const api = (token: string, method: string, url: string, body?: unknown) =>
  apiCall(ferry.url, token, method, url, body);

/** `count` received files of a connection, f-000001.csv …, straight into the database. */
async function insertFiles(connectionId: string, count: number) {
  await db.query(
    `INSERT INTO transfers (id, account_id, connection_id, direction, file_name, store_key, size, sha256, status, protocol, created_at)
     SELECT gen_random_uuid(), c.account_id, c.id, 'inbound', 'f-' || lpad(i::text, 6, '0') || '.csv',
            'fixture/' || i, i, repeat('0', 64), 'processed', 'sftp', now() - interval '30 days' + i * interval '1 second'
     FROM connections c, generate_series(1, $2) i WHERE c.id = $1`,
    [connectionId, count],
  );
}

const lftp = (script: string) => lftpFtps(dir, ftpPort, ftpLogin, script);

/** Ferry's resident memory, sampled while `work` runs: before, and the most seen. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; ms: number; rssMiB: number[] }> {
  const rss = async () => {
    const status = await readFile(`/proc/${ferry.pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  };
  const before = await rss();
  let peak = before;
  const sampler = setInterval(() => {
    rss().then(
      (r) => {
        peak = Math.max(peak, r);
      },
      () => {},
    );
  }, 25);
  const started = performance.now();
  try {
    const value = await work();
    return {
      value,
      ms: Math.round(performance.now() - started),
      rssMiB: [Math.round(before), Math.round(peak)],
    };
  } finally {
    clearInterval(sampler);
  }
}

/** Names of a listing's lines, without . and .. */
const names = (stdout: string) =>
  stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && l !== "." && l !== ".." && !l.startsWith("sftp>"));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-listing-e2e-"));
  database = await createTestDatabase();
  ftpPort = await freePort();
  const sftpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_FTP_PORT: String(ftpPort),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0", // the fixture's rows have no bytes to process
    FERRY_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS), // a listing nobody reads is given up after this
    FERRY_LOG_LEVEL: "warn",
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const account = await api(ADMIN, "POST", "/api/v1/accounts", { name: "Busy brand", type: "brand" });
  const token = (await api(ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`, {})).token as string;
  const cred = await api(token, "POST", "/api/v1/credentials", { name: "Busy feed", kind: "password" });
  const connection = (method: string) =>
    api(token, "POST", "/api/v1/connections", {
      name: `Conversions over ${method}`,
      direction: "inbound",
      dataType: "conversions",
      method,
      methodology: "push_to_platform",
      credentialId: cred.id,
    });
  const overSftp = await connection("sftp");
  const overFtp = await connection("ftp");
  sftpFolder = overSftp.folder;
  ftpFolder = overFtp.folder;
  await insertFiles(overSftp.id, FILES);
  await insertFiles(overFtp.id, FILES);
  // Result files of the SFTP connection's newest transfers (the results/ folder had the same cap).
  await db.query(
    `INSERT INTO result_files (id, account_id, connection_id, transfer_id, kind, file_name, store_key, size)
     SELECT gen_random_uuid(), account_id, connection_id, id, 'summary', 'result_' || file_name, 'fixture/r' || id, 10
     FROM transfers WHERE connection_id = $1 ORDER BY file_name DESC LIMIT $2`,
    [overSftp.id, RESULTS],
  );
  await db.query("ANALYZE transfers; ANALYZE result_files");
  sftpLogin = { port: sftpPort, username: cred.username, password: cred.password, workDir: dir };
  ftpLogin = { username: cred.username, password: cred.password };
  await writeFile(path.join(dir, "zz_newest.csv"), "newest\n");
  await writeFile(path.join(dir, "aa_first.csv"), "first\n");
}, 120_000);

afterAll(async () => {
  await db?.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** RSS a busy Ferry may add without holding a listing: its two 32 MiB semi-spaces (--max-semi-space-size). */
const YOUNG_GENERATION_MIB = 64;

describe("listing folders of 100,000 files", () => {
  it("OpenSSH sftp lists every file of the inbox, the newest upload included, and every result file", async () => {
    const put = await sftpBatch(sftpLogin, [
      `put ${path.join(dir, "zz_newest.csv")} /${sftpFolder}/inbox/zz_newest.csv`,
      `put ${path.join(dir, "aa_first.csv")} /${sftpFolder}/inbox/aa_first.csv`,
    ]);
    expect(put.code, put.stderr).toBe(0);
    const inbox = await measured(() => sftpBatch(sftpLogin, [`ls -1 /${sftpFolder}/inbox`]));
    expect(inbox.value.code, inbox.value.stderr).toBe(0);
    const listed = names(inbox.value.stdout);
    expect(listed).toHaveLength(FILES + 2);
    expect(new Set(listed).size).toBe(FILES + 2);
    expect(listed).toContain(`/${sftpFolder}/inbox/zz_newest.csv`);
    expect(listed).toContain(`/${sftpFolder}/inbox/aa_first.csv`);
    expect(listed).toContain(`/${sftpFolder}/inbox/f-${String(FILES).padStart(6, "0")}.csv`);
    const results = await measured(() => sftpBatch(sftpLogin, [`ls -1 /${sftpFolder}/results`]));
    expect(names(results.value.stdout)).toHaveLength(RESULTS);
    console.log(
      `sftp ls of ${FILES + 2} files: ${inbox.ms} ms, Ferry RSS ${inbox.rssMiB.join(" → peak ")} MiB; ` +
        `${RESULTS} result files: ${results.ms} ms`,
    );
    // The listing is read a page at a time: memory does not grow with the folder (all 100,000 entries read
    // at once took ~100 MiB more). Up to 64 MiB is V8's young generation growing into its two 32 MiB
    // semi-spaces under the load, whatever it lists (40 was reached once on a busy CI machine).
    expect(inbox.rssMiB[1]! - inbox.rssMiB[0]!).toBeLessThan(YOUNG_GENERATION_MIB);
  }, 180_000);

  it("lftp (MLSD and NLST) and curl (LIST) over FTPS list every file, the newest upload included", async () => {
    const put = await lftp(`put ${path.join(dir, "zz_newest.csv")} -o /${ftpFolder}/inbox/zz_newest.csv`);
    expect(put.code, put.stderr).toBe(0);
    const mlsd = await measured(() => lftp(`cls -1 /${ftpFolder}/inbox/`));
    expect(mlsd.value.code, mlsd.value.stderr).toBe(0);
    const listed = names(mlsd.value.stdout);
    expect(listed).toHaveLength(FILES + 1);
    expect(listed.some((l) => l.endsWith("zz_newest.csv"))).toBe(true);

    const nlst = await lftp(`nlist /${ftpFolder}/inbox/`);
    expect(names(nlst.stdout)).toHaveLength(FILES + 1);

    const list = await measured(() =>
      curlFtps(dir, ftpLogin, [`ftp://127.0.0.1:${ftpPort}/${ftpFolder}/inbox/`]),
    );
    expect(list.value.code, list.value.stderr).toBe(0);
    const lines = names(list.value.stdout);
    expect(lines).toHaveLength(FILES + 1);
    expect(lines.at(-1)).toMatch(/^-rw-r--r-- 1 1 1 +7 \w{3} \d\d \d\d:\d\d zz_newest\.csv$/);
    console.log(
      `lftp cls (MLSD) of ${FILES + 1} files: ${mlsd.ms} ms, Ferry RSS ${mlsd.rssMiB.join(" → peak ")} MiB; ` +
        `curl LIST: ${list.ms} ms, RSS ${list.rssMiB.join(" → peak ")} MiB`,
    );
    expect(mlsd.rssMiB[1]! - mlsd.rssMiB[0]!).toBeLessThan(YOUNG_GENERATION_MIB);
    expect(list.rssMiB[1]! - list.rssMiB[0]!).toBeLessThan(YOUNG_GENERATION_MIB);
  }, 180_000);
});

describe("FTP data connections and the idle timeout", () => {
  it("cuts a listing whose client reads nothing for the idle timeout, and the session goes on", async () => {
    const ftp = await connectRawFtp(ftpPort, ftpLogin.username, ftpLogin.password, {
      tls: { maxVersion: "TLSv1.3" },
    });
    const { secure } = await ftp.openSecureData();
    secure.pause(); // reads nothing: the listing backs up in the sockets' buffers
    const started = performance.now();
    expect(await ftp.command(`MLSD /${ftpFolder}/inbox`)).toMatch(/^150/);
    expect(await ftp.reply()).toBe(
      `426 Connection closed; listing aborted (no data moved for ${IDLE_SECONDS} s)`,
    );
    const after = performance.now() - started;
    expect(after).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 500);
    expect(after).toBeLessThan(IDLE_SECONDS * 1000 + 10_000);
    // What the client reads now ends before the listing's end: the data connection was cut.
    let listed = "";
    secure.on("data", (d) => {
      listed += d;
    });
    const ended = new Promise((resolve) => secure.once("close", resolve));
    secure.resume();
    await ended;
    expect(listed.split("\r\n").length).toBeLessThan(FILES);
    // The session goes on.
    expect(await ftp.command("NOOP")).toMatch(/^200/);
    ftp.control.destroy();
  }, 60_000);

  it("keeps a transfer that takes longer than the idle timeout while its bytes move", async () => {
    // Before: the control connection, silent during the transfer, timed out and the upload was discarded.
    const slow = randomBytes(320 * 1024); // ~10 s each way at 32 KB/s (curl pauses ~2 s between bursts)
    const file = path.join(dir, "slow.bin");
    await writeFile(file, slow);
    const curl = (args: string[]) => curlFtps(dir, ftpLogin, ["--limit-rate", "32k", ...args]);
    const target = `ftp://127.0.0.1:${ftpPort}/${ftpFolder}/inbox/slow.bin`;
    const started = performance.now();
    const up = await curl(["-T", file, target]);
    expect(up.code, up.stderr).toBe(0);
    expect(performance.now() - started).toBeGreaterThan((IDLE_SECONDS + 1) * 1000);
    const { rows } = await db.query("SELECT size FROM transfers WHERE file_name = 'slow.bin'");
    expect(rows.map((r) => Number(r.size))).toEqual([slow.length]);
    const down = await curl(["-o", path.join(dir, "slow.back"), target]);
    expect(down.code, down.stderr).toBe(0);
    expect((await readFile(path.join(dir, "slow.back"))).equals(slow)).toBe(true);
  }, 90_000);
});
