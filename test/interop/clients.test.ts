/**
 * The interop matrix: third-party clients customers use, against a running Ferry — rclone over SFTP and FTPS
 * (parallel transfers, modification times: an unchanged folder copied again uploads nothing), paramiko and
 * JSch over SFTP, Apache Commons Net over FTPS (upload, list, stat or mlistDir, download, temp name then
 * rename, overwrite, resume — refused clearly), lftp mirror -R -P 8 over FTPS, ncftp (plain FTP). Each client
 * uploads a ~50 MB file too, compared by SHA-256. Each operation ends as ok,
 * refused-clearly or FAIL; the matrix is printed at the end. OpenSSH, lftp and curl have their own files
 * (test/e2e/sftp.test.ts, test/e2e/ftp.test.ts, test/interop/ftps-uploads.test.ts).
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";

// Every client sends a ~50 MB file besides its small ones; rclone and lftp sixteen and eight at once.
vi.setConfig({ testTimeout: 180_000 });

const ADMIN = `interop_admin_${randomBytes(8).toString("hex")}`;
/** Both Ferry processes of this file share one database, hence one master key. */
const MASTER_KEY = randomBytes(32).toString("base64");
const FILES = 20;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let db: pg.Client;
let ports: { sftp: number; ftp: number };
let login: { username: string; password: string };
let folders: { sftp: string; ftp: string };
const matrix: { client: string; op: string; result: string }[] = [];
/** A ~50 MB file every client uploads once (random bytes: nothing is processed here, FERRY_WORKERS=0). */
const BIG_BYTES = 50 * 1024 * 1024;
let big: { path: string; sha256: string };

function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(
      cmd,
      args,
      { timeout: 120_000, env: { PATH: process.env.PATH ?? "", HOME: dir, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

const stored = async (folder: string) =>
  (
    await db.query(
      `SELECT t.file_name, t.sha256 FROM transfers t JOIN connections c ON c.id = t.connection_id
       WHERE c.folder = $1 ORDER BY t.id`,
      [folder],
    )
  ).rows as { file_name: string; sha256: string }[];

async function rclone(remote: "sftp" | "ftp", args: string[]) {
  const obscured = (await run("rclone", ["obscure", login.password])).out.trim();
  const env: Record<string, string> =
    remote === "sftp"
      ? {
          RCLONE_CONFIG_FERRY_TYPE: "sftp",
          RCLONE_CONFIG_FERRY_HOST: "127.0.0.1",
          RCLONE_CONFIG_FERRY_PORT: String(ports.sftp),
          RCLONE_CONFIG_FERRY_USER: login.username,
          RCLONE_CONFIG_FERRY_PASS: obscured,
          // No shell on Ferry's SSH server: no remote md5sum, modification times and sizes only.
          RCLONE_CONFIG_FERRY_SHELL_TYPE: "none",
        }
      : {
          RCLONE_CONFIG_FERRY_TYPE: "ftp",
          RCLONE_CONFIG_FERRY_HOST: "127.0.0.1",
          RCLONE_CONFIG_FERRY_PORT: String(ports.ftp),
          RCLONE_CONFIG_FERRY_USER: login.username,
          RCLONE_CONFIG_FERRY_PASS: obscured,
          RCLONE_CONFIG_FERRY_EXPLICIT_TLS: "true",
          RCLONE_CONFIG_FERRY_NO_CHECK_CERTIFICATE: "true",
        };
  return run("rclone", [...args, "--config", "/dev/null", "--stats-one-line", "-v"], env);
}

async function files(name: string): Promise<{ dir: string; sums: Map<string, string> }> {
  const where = path.join(dir, name);
  await mkdir(where, { recursive: true });
  const sums = new Map<string, string>();
  for (let i = 0; i < FILES; i++) {
    const data = randomBytes(64 * 1024 + i * 1000);
    await writeFile(path.join(where, `clicks_${i}.csv`), data);
    sums.set(`clicks_${i}.csv`, createHash("sha256").update(data).digest("hex"));
  }
  return { dir: where, sums };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-interop-"));
  database = await createTestDatabase();
  ports = { sftp: await freePort(), ftp: await freePort() };
  // Parallel FTP transfers need a passive port each: a range of 100 (below the ephemeral ports).
  const passive = 30_000 + Math.floor(Math.random() * 20) * 100;
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_MASTER_KEY: MASTER_KEY,
    FERRY_SFTP_PORT: String(ports.sftp),
    FERRY_FTP_PORT: String(ports.ftp),
    FERRY_FTP_PASV_PORTS: `${passive}-${passive + 99}`,
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_LOG_LEVEL: "warn",
  });
  const bigData = randomBytes(BIG_BYTES);
  big = { path: path.join(dir, "big.csv"), sha256: createHash("sha256").update(bigData).digest("hex") };
  await writeFile(big.path, bigData);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const made = await clicksLogin(ferry.url, ADMIN, ["sftp", "ftp"]);
  login = made.login;
  folders = { sftp: made.connections.sftp.folder, ftp: made.connections.ftp.folder };
}, 120_000);

afterAll(async () => {
  if (matrix.length) {
    const width = Math.max(...matrix.map((m) => m.client.length + m.op.length + 3));
    const lines = matrix.map((m) => `  ${`${m.client} × ${m.op}`.padEnd(width)}  ${m.result}`);
    console.log(`\nInterop matrix (client × operation → result):\n${lines.join("\n")}\n`);
  }
  await db?.end();
  if (process.env.DEBUG_INTEROP) console.log(ferry?.output());
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("rclone", () => {
  it("copies a folder over SFTP with 16 parallel transfers, each file whole, and nothing again when unchanged", async () => {
    const { dir: local, sums } = await files("rclone-sftp");
    const first = await rclone("sftp", ["copy", local, `ferry:/${folders.sftp}/inbox`, "--transfers", "16"]);
    matrix.push({
      client: "rclone sftp",
      op: "parallel upload (16)",
      result: first.code === 0 ? "ok" : "FAIL",
    });
    expect(first.code, first.out).toBe(0);
    const rows = await stored(folders.sftp);
    expect(rows).toHaveLength(FILES);
    for (const r of rows) expect(r.sha256).toBe(sums.get(r.file_name));
    const again = await rclone("sftp", ["copy", local, `ferry:/${folders.sftp}/inbox`, "--transfers", "16"]);
    const unchanged = again.code === 0 && (await stored(folders.sftp)).length === FILES;
    matrix.push({ client: "rclone sftp", op: "copy unchanged (mtime)", result: unchanged ? "ok" : "FAIL" });
    expect(unchanged, again.out).toBe(true);
    const upBig = await rclone("sftp", ["copyto", big.path, `ferry:/${folders.sftp}/inbox/rclone-big.csv`]);
    await bigArrived("rclone sftp", folders.sftp, "rclone-big.csv", upBig.code === 0);
    const listing = await rclone("sftp", ["lsl", `ferry:/${folders.sftp}/inbox`]);
    matrix.push({
      client: "rclone sftp",
      op: "list",
      result: listing.out.includes("clicks_19.csv") ? "ok" : "FAIL",
    });
    const down = path.join(dir, "rclone-back");
    const back = await rclone("sftp", ["copy", `ferry:/${folders.sftp}/inbox/clicks_7.csv`, down]);
    const same =
      back.code === 0 &&
      createHash("sha256")
        .update(await readFile(path.join(down, "clicks_7.csv")))
        .digest("hex") === sums.get("clicks_7.csv");
    matrix.push({ client: "rclone sftp", op: "download", result: same ? "ok" : "FAIL" });
    expect(same, back.out).toBe(true);
  });

  it("copies a folder over FTPS with 16 parallel transfers, each file whole", async () => {
    const { dir: local, sums } = await files("rclone-ftp");
    const res = await rclone("ftp", ["copy", local, `ferry:/${folders.ftp}/inbox`, "--transfers", "16"]);
    matrix.push({
      client: "rclone ftps",
      op: "parallel upload (16)",
      result: res.code === 0 ? "ok" : "FAIL",
    });
    expect(res.code, res.out).toBe(0);
    const rows = await stored(folders.ftp);
    expect(rows).toHaveLength(FILES);
    for (const r of rows) expect(r.sha256).toBe(sums.get(r.file_name));
    const upBig = await rclone("ftp", ["copyto", big.path, `ferry:/${folders.ftp}/inbox/rclone-big.csv`]);
    await bigArrived("rclone ftps", folders.ftp, "rclone-big.csv", upBig.code === 0);
    const listing = await rclone("ftp", ["lsl", `ferry:/${folders.ftp}/inbox`]);
    matrix.push({
      client: "rclone ftps",
      op: "list",
      result: listing.out.includes("clicks_19.csv") ? "ok" : "FAIL",
    });
    expect(listing.out).toContain("clicks_19.csv");
  });
});

/** Whether `name` was received in `folder` with the big file's SHA-256: the matrix cell of a 50 MB upload. */
async function bigArrived(client: string, folder: string, name: string, uploaded: boolean): Promise<void> {
  const row = (await stored(folder)).filter((r) => r.file_name === name).pop();
  const whole = uploaded && row?.sha256 === big.sha256;
  matrix.push({ client, op: "upload 50 MB", result: whole ? "ok" : "FAIL" });
  expect(whole, `${client}: ${name} ${row ? `stored with ${row.sha256}` : "not stored"}`).toBe(true);
}

/**
 * Runs one of the client programs here; each prints a JSON line per operation. Its "upload 50 MB" is only
 * "ok" once the file it stored as `<bigName>` has the big file's SHA-256.
 */
async function clientProgram(
  client: string,
  command: string,
  args: string[],
  folder: string,
  ops: string[],
  bigName: string,
) {
  const local = path.join(dir, `${client.replace(/\W+/g, "-")}.csv`);
  await writeFile(local, `ClickId\n${Array.from({ length: 5000 }, (_, i) => `c${i}`).join("\n")}\n`);
  const res = await run(command, [
    ...args,
    String(folder === folders.ftp ? ports.ftp : ports.sftp),
    login.username,
    login.password,
    folder,
    local,
    big.path,
  ]);
  const results = res.out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { op: string; result: string; detail: string });
  for (const r of results) {
    if (r.op === "upload 50 MB") await bigArrived(client, folder, bigName, r.result === "ok");
    else matrix.push({ client, op: r.op, result: r.result });
  }
  expect(
    results.map((r) => r.op),
    res.out,
  ).toEqual(ops);
  expect(
    results.filter((r) => r.result === "FAIL"),
    res.out,
  ).toEqual([]);
}

const program = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
const SFTP_OPS = [
  "upload",
  "upload 50 MB",
  "list",
  "stat",
  "download",
  "temp-name-then-rename",
  "overwrite",
  "resume",
];

describe("paramiko", () => {
  it("uploads, lists, stats, downloads, renames, overwrites; resume is refused clearly", async () => {
    await clientProgram(
      "paramiko sftp",
      "/usr/bin/python3",
      [program("paramiko_client.py")],
      folders.sftp,
      SFTP_OPS,
      "paramiko-big.csv",
    );
  });
});

describe("Python ftplib", () => {
  it("FTP_TLS uploads, lists with MLSD, downloads, renames, overwrites; REST is refused clearly", async () => {
    await clientProgram(
      "ftplib ftps",
      "/usr/bin/python3",
      [program("ftplib_client.py")],
      folders.ftp,
      ["upload", "upload 50 MB", "mlsd", "size", "download", "temp-name-then-rename", "overwrite", "resume"],
      "ftplib-big.csv",
    );
  });
});

describe("curl sftp://", () => {
  it("uploads, lists, downloads, renames; resume is refused", async () => {
    const local = path.join(dir, "curl.csv");
    const data = randomBytes(300_000);
    await writeFile(local, data);
    const base = `sftp://127.0.0.1:${ports.sftp}/${folders.sftp}/inbox`;
    const curl = (args: string[]) =>
      run("curl", ["-sS", "-k", "--user", `${login.username}:${login.password}`, ...args]);
    const cell = (op: string, ok: boolean, refused = false) =>
      matrix.push({ client: "curl sftp", op, result: ok ? (refused ? "refused-clearly" : "ok") : "FAIL" });
    const up = await curl(["-T", local, `${base}/curl.csv`]);
    cell("upload", up.code === 0);
    const upBig = await curl(["-T", big.path, `${base}/curl-big.csv`]);
    await bigArrived("curl sftp", folders.sftp, "curl-big.csv", upBig.code === 0);
    const list = await curl([`${base}/`]);
    cell("list", list.out.includes("curl.csv"));
    const back = path.join(dir, "curl-back.csv");
    const down = await curl(["-o", back, `${base}/curl.csv`]);
    const same = down.code === 0 && (await readFile(back)).equals(data);
    cell("download", same);
    const part = await curl([
      "-T",
      local,
      `${base}/curl2.csv.part`,
      "-Q",
      `-rename /${folders.sftp}/inbox/curl2.csv.part /${folders.sftp}/inbox/curl2.csv`,
    ]);
    cell("temp-name-then-rename", part.code === 0 && (await curl([`${base}/`])).out.includes("curl2.csv"));
    const before = await stored(folders.sftp);
    const resume = await curl(["-C", "-", "-T", local, `${base}/curl.csv`]);
    const unchanged = (await stored(folders.sftp)).length === before.length;
    cell("resume", resume.code !== 0 && unchanged, true);
    expect(
      matrix.filter((m) => m.client === "curl sftp" && m.result === "FAIL"),
      up.out + list.out + part.out + resume.out,
    ).toEqual([]);
  });
});

describe("Java", () => {
  it("JSch 0.1.5x (RSA only with SHA-1: it takes the ECDSA host key) uploads, lists, downloads; resume refused", async () => {
    await clientProgram(
      "jsch sftp",
      "java",
      ["-cp", "/usr/share/java/jsch.jar", program("JschClient.java")],
      folders.sftp,
      ["connect", ...SFTP_OPS],
      "jsch-big.csv",
    );
  }, 60_000);

  it("Apache Commons Net FTPS sees its uploads with mlistDir, downloads them whole; REST is refused", async () => {
    await clientProgram(
      "commons-net ftps",
      "java",
      ["-cp", "/usr/share/java/commons-net.jar", program("CommonsNetClient.java")],
      folders.ftp,
      ["login", "upload", "upload 50 MB", "mlistDir", "list", "download", "temp-name-then-rename", "resume"],
      "commons-big.csv",
    );
  }, 60_000);
});

describe("lftp", () => {
  it("mirrors a folder up over FTPS with 8 parallel transfers (mirror -R -P 8), each file whole", async () => {
    const { dir: local, sums } = await files("lftp-mirror");
    const before = (await stored(folders.ftp)).length;
    const res = await run("lftp", [
      "-u",
      `${login.username},${login.password}`,
      "-p",
      String(ports.ftp),
      "-e",
      `set ssl:verify-certificate no; set net:max-retries 1; set net:timeout 20; mirror -R -P 8 --no-perms ${local} /${folders.ftp}/inbox; bye`,
      "127.0.0.1",
    ]);
    const rows = (await stored(folders.ftp)).slice(before);
    const whole =
      res.code === 0 && rows.length === FILES && rows.every((r) => r.sha256 === sums.get(r.file_name));
    matrix.push({ client: "lftp ftps", op: "parallel upload (mirror -P 8)", result: whole ? "ok" : "FAIL" });
    expect(whole, res.out).toBe(true);
  });
});

describe("ncftp (no TLS at all)", () => {
  let plain: RunningFerry;
  let plainPort: number;

  beforeAll(async () => {
    // ncftp speaks plain FTP only: it needs a Ferry whose operator allows FTP without TLS.
    plainPort = await freePort();
    plain = await startServe({
      DATABASE_URL: database.url,
      FERRY_DATA_DIR: path.join(dir, "data-plain"),
      FERRY_MASTER_KEY: MASTER_KEY,
      FERRY_FTP_PORT: String(plainPort),
      FERRY_FTP_REQUIRE_TLS: "false",
      FERRY_ADMIN_TOKEN: ADMIN,
      FERRY_WORKERS: "0",
      FERRY_LOG_LEVEL: "warn",
    });
  }, 60_000);

  afterAll(async () => {
    await plain?.stop();
  });

  const auth = (port: number) => [
    "-r",
    "0",
    "-u",
    login.username,
    "-p",
    login.password,
    "-P",
    String(port),
    "-V",
  ];
  const cell = (op: string, result: "ok" | "refused-clearly" | "FAIL") =>
    matrix.push({ client: "ncftp", op, result });

  it("is refused with words where TLS is required (Ferry's default), before its password is sent", async () => {
    // -r 0: ncftp would otherwise dial again every 20 s. It prints only "username was not accepted for login";
    // the server's reason is in its debug log.
    const debug = path.join(dir, "ncftp-debug.log");
    const res = await run("ncftpls", [
      "-r",
      "0",
      "-d",
      debug,
      "-u",
      login.username,
      "-p",
      login.password,
      `ftp://127.0.0.1:${ports.ftp}/`,
    ]);
    const log = await readFile(debug, "utf8").catch(() => "");
    const clear = res.code !== 0 && /530: TLS is required/.test(log) && !/Cmd: PASS/.test(log);
    cell("login where TLS is required", clear ? "refused-clearly" : "FAIL");
    expect(clear, res.out + log).toBe(true);
  });

  it("uploads (small and 50 MB), lists, downloads, uploads under a temporary name, overwrites; resume refused", async () => {
    const inbox = `/${folders.ftp}/inbox`;
    const local = path.join(dir, "ncftp.csv");
    const data = randomBytes(200_000);
    await writeFile(local, data);
    const up = await run("ncftpput", [...auth(plainPort), "127.0.0.1", inbox, local]);
    const upRow = (await stored(folders.ftp)).filter((r) => r.file_name === "ncftp.csv").pop();
    cell(
      "upload",
      up.code === 0 && upRow?.sha256 === createHash("sha256").update(data).digest("hex") ? "ok" : "FAIL",
    );
    const upBig = await run("ncftpput", [
      ...auth(plainPort),
      "-C",
      "127.0.0.1",
      big.path,
      `${inbox}/ncftp-big.csv`,
    ]);
    await bigArrived("ncftp", folders.ftp, "ncftp-big.csv", upBig.code === 0);
    const ls = await run("ncftpls", [
      "-u",
      login.username,
      "-p",
      login.password,
      "-l",
      `ftp://127.0.0.1:${plainPort}${inbox}/`,
    ]);
    cell("list", ls.code === 0 && ls.out.includes("ncftp.csv") ? "ok" : "FAIL");
    const downDir = path.join(dir, "ncftp-back");
    await mkdir(downDir, { recursive: true });
    const down = await run("ncftpget", [...auth(plainPort), "127.0.0.1", downDir, `${inbox}/ncftp.csv`]);
    const back = await readFile(path.join(downDir, "ncftp.csv")).catch(() => Buffer.alloc(0));
    cell("download", down.code === 0 && back.equals(data) ? "ok" : "FAIL");
    // -S: uploads as ncftp2.csv.tmp, then renames to ncftp2.csv (only then is it received).
    const local2 = path.join(dir, "ncftp2.csv");
    await writeFile(local2, data);
    const temp = await run("ncftpput", [...auth(plainPort), "-S", ".tmp", "127.0.0.1", inbox, local2]);
    const names = (await stored(folders.ftp)).map((r) => r.file_name);
    cell(
      "temp-name-then-rename",
      temp.code === 0 && names.includes("ncftp2.csv") && !names.includes("ncftp2.csv.tmp") ? "ok" : "FAIL",
    );
    const again = await run("ncftpput", [...auth(plainPort), "127.0.0.1", inbox, local]);
    cell("overwrite", again.code === 0 ? "ok" : "FAIL");
    // Half of a file on the server, then -z: ncftp asks for the size and sends REST before the rest.
    const half = path.join(dir, "half", "ncftp3.csv");
    await mkdir(path.dirname(half), { recursive: true });
    await writeFile(half, data.subarray(0, data.length / 2));
    await run("ncftpput", [...auth(plainPort), "127.0.0.1", inbox, half]);
    const local3 = path.join(dir, "ncftp3.csv");
    await writeFile(local3, data);
    const count = (await stored(folders.ftp)).length;
    const resume = await run("ncftpput", [...auth(plainPort), "-z", "127.0.0.1", inbox, local3]);
    const after = await stored(folders.ftp);
    const last = after[after.length - 1];
    // Either refused in words with nothing new kept, or sent whole again: never a file with a hole.
    const refused = resume.code !== 0 && /not supported/i.test(resume.out) && after.length === count;
    const whole =
      resume.code === 0 &&
      last?.file_name === "ncftp3.csv" &&
      last.sha256 === createHash("sha256").update(data).digest("hex");
    cell("resume (-z)", refused ? "refused-clearly" : whole ? "ok" : "FAIL");
    expect(
      matrix.filter((m) => m.client === "ncftp" && m.result === "FAIL"),
      [up.out, ls.out, down.out, temp.out, again.out, resume.out].join("\n"),
    ).toEqual([]);
  }, 120_000);
});
