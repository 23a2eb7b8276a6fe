import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { curlFtps, type FtpLogin, lftpFtps, runClient } from "../helpers/ftp-clients.js";
import { freePort } from "../helpers/ports.js";
import { connectRawFtp } from "../helpers/raw-ftp.js";

const ADMIN = `ftp_e2e_admin_${randomBytes(8).toString("hex")}`;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let ftpPort: number;
let db: pg.Client;
let login: { username: string; password: string };
let other: { username: string; password: string };
let connection: { id: string; folder: string };

const url = (p: string) => `ftp://127.0.0.1:${ftpPort}${p}`;
const run = (cmd: string, args: string[]) => runClient(cmd, args, dir);
const curl = (who: FtpLogin, args: string[]) => curlFtps(dir, who, args);
const lftp = (who: FtpLogin, script: string) => lftpFtps(dir, ftpPort, who, script);

const transfers = async () =>
  (
    await db.query(
      "SELECT file_name, size::int, sha256, status, protocol FROM transfers WHERE connection_id = $1 ORDER BY id",
      [connection.id],
    )
  ).rows;

const api = (token: string, method: string, p: string, body?: unknown) =>
  apiCall(ferry.url, token, method, p, body);

async function account(name: string) {
  const a = await api(ADMIN, "POST", "/api/v1/accounts", { name, type: "partner" });
  const token = (await api(ADMIN, "POST", `/api/v1/accounts/${a.id}/tokens`)).token as string;
  const cred = await api(token, "POST", "/api/v1/credentials", { name: "FTP login", kind: "password" });
  const conn = await api(token, "POST", "/api/v1/connections", {
    name: `${name} clicks`,
    direction: "inbound",
    dataType: "clicks",
    method: "ftp",
    methodology: "push_to_platform",
    credentialId: cred.id,
  });
  return { login: { username: cred.username, password: cred.password }, connection: conn };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-ftp-e2e-"));
  database = await createTestDatabase();
  ftpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_FTP_PORT: String(ftpPort),
    FERRY_ADMIN_TOKEN: ADMIN,
    // Transport only: these files are not data files; processing has its own end-to-end test.
    FERRY_WORKERS: "0",
    FERRY_LOG_LEVEL: "warn",
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const a = await account("Partner A");
  login = a.login;
  connection = a.connection;
  other = (await account("Partner B")).login;
});

afterAll(async () => {
  await db?.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("FTPS with curl and lftp", () => {
  it("refuses plain FTP logins: TLS is required", async () => {
    const res = await run("curl", ["-sS", "--user", `${login.username}:${login.password}`, url("/")]);
    expect(res.code).toBe(67); // curl: login denied
    expect(res.stderr).toMatch(/530/);
  });

  it("answers USER with 530 before AUTH TLS, so no password is sent in clear", async () => {
    const control = net.connect(ftpPort, "127.0.0.1");
    let text = "";
    control.on("data", (d) => {
      text += d;
    });
    await new Promise((r) => control.once("connect", r));
    control.write(`USER ${login.username}\r\n`);
    for (let i = 0; i < 50 && !/^530 /m.test(text); i++) await new Promise((r) => setTimeout(r, 50));
    control.destroy();
    expect(text).toMatch(/^530 TLS is required: send AUTH TLS before USER/m);
    expect(text).not.toMatch(/^331/m);
  });

  it("receives an upload over FTPS as a Transfer and gives it back", async () => {
    const data = randomBytes(2 * 1024 * 1024 + 7);
    await writeFile(path.join(dir, "clicks.csv"), data);
    const up = await curl(login, [
      "-T",
      path.join(dir, "clicks.csv"),
      url(`/${connection.folder}/inbox/clicks.csv`),
    ]);
    expect(up).toMatchObject({ code: 0 });
    const list = await curl(login, [url(`/${connection.folder}/inbox/`)]);
    expect(list.stdout).toMatch(/-rw-r--r-- .* 2097159 .* clicks\.csv/);
    const down = await curl(login, [
      "-o",
      path.join(dir, "back.csv"),
      url(`/${connection.folder}/inbox/clicks.csv`),
    ]);
    expect(down, down.stderr).toMatchObject({ code: 0 });
    expect((await readFile(path.join(dir, "back.csv"))).equals(data)).toBe(true);
    expect(await transfers()).toEqual([
      {
        file_name: "clicks.csv",
        size: data.length,
        sha256: createHash("sha256").update(data).digest("hex"),
        status: "received",
        protocol: "ftp",
      },
    ]);
  });

  it("works with lftp, whose temporary-file upload becomes one Transfer when renamed", async () => {
    await writeFile(path.join(dir, "lftp.csv"), "ClickId\nx1\n");
    const res = await lftp(
      login,
      `set xfer:use-temp-file yes; cd ${connection.folder}/inbox; put ${path.join(dir, "lftp.csv")}; cls -1`,
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/lftp\.csv/);
    expect((await transfers()).map((t) => t.file_name)).toEqual(["clicks.csv", "lftp.csv"]);
    expect((await db.query("SELECT count(*)::int AS n FROM staged_files")).rows[0].n).toBe(0);
  });

  it("shows a login only its own connection folders", async () => {
    const mine = await lftp(login, "cls -1 /");
    expect(mine.stdout.trim()).toBe(`/${connection.folder}/`);
    const theirs = await lftp(other, `cls -1 /; cls /${connection.folder}/inbox`);
    expect(theirs.stdout).not.toContain(connection.folder);
    expect(theirs.stderr).toMatch(/No such file|Access failed/);
  });

  it("keeps every path inside the view", async () => {
    const res = await lftp(login, "cd /; cd ..; pwd; get /etc/passwd -o /dev/null");
    expect(res.stdout).toMatch(/^ftp:\/\/.*:\d+\/?$/m);
    expect(res.stderr).toMatch(/Access failed: 550 No such file or directory: \/etc\/passwd/);
    const curlTraversal = await curl(login, [url("/../../etc/passwd")]);
    expect(curlTraversal.code).not.toBe(0);
    const outside = await curl(login, ["-T", path.join(dir, "lftp.csv"), url("/outside.csv")]);
    expect(outside.code).not.toBe(0);
    expect((await transfers()).map((t) => t.file_name)).not.toContain("outside.csv");
  });

  it("refuses a wrong password with 530, like an unknown user", async () => {
    const wrong = await run("curl", [
      "-sS",
      "--ssl-reqd",
      "-k",
      "--user",
      `${login.username}:nope`,
      url("/"),
    ]);
    const unknown = await run("curl", ["-sS", "--ssl-reqd", "-k", "--user", "nobody:nope", url("/")]);
    expect(wrong.code).toBe(67);
    expect(unknown.code).toBe(67);
    expect(wrong.stderr).toBe(unknown.stderr);
  });

  it("does not record an upload whose client was killed", async () => {
    await writeFile(path.join(dir, "slow.bin"), randomBytes(4 * 1024 * 1024));
    const child: ChildProcess = spawn("curl", [
      "-sS",
      "--ssl-reqd",
      "-k",
      "--limit-rate",
      "500k",
      "--user",
      `${login.username}:${login.password}`,
      "-T",
      path.join(dir, "slow.bin"),
      url(`/${connection.folder}/inbox/slow.bin`),
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    expect((await transfers()).map((t) => t.file_name)).not.toContain("slow.bin");
    expect(await readdir(path.join(dir, "data", "files", "tmp"))).toEqual([]);
  });
});

describe("plain FTP, when an operator allows it", () => {
  let plain: RunningFerry;
  let plainPort: number;
  let plainDir: string;
  let plainDb: { url: string; drop: () => Promise<void> };
  let plainLogin: { username: string; password: string };
  let plainConnection: { id: string; folder: string };

  beforeAll(async () => {
    plainDir = await mkdtemp(path.join(os.tmpdir(), "ferry-ftp-plain-"));
    plainDb = await createTestDatabase();
    plainPort = await freePort();
    plain = await startServe({
      DATABASE_URL: plainDb.url,
      FERRY_DATA_DIR: path.join(plainDir, "data"),
      FERRY_FTP_PORT: String(plainPort),
      FERRY_FTP_REQUIRE_TLS: "false",
      FERRY_MAX_SESSIONS_PER_CREDENTIAL: "2",
      FERRY_ADMIN_TOKEN: ADMIN,
      FERRY_LOG_LEVEL: "warn",
    });
    const call = (token: string, method: string, p: string, body?: unknown) =>
      apiCall(plain.url, token, method, p, body);
    const a = await call(ADMIN, "POST", "/api/v1/accounts", { name: "Plain", type: "brand" });
    const token = (await call(ADMIN, "POST", `/api/v1/accounts/${a.id}/tokens`)).token;
    const cred = await call(token, "POST", "/api/v1/credentials", { name: "plain", kind: "password" });
    plainLogin = { username: cred.username, password: cred.password };
    plainConnection = await call(token, "POST", "/api/v1/connections", {
      name: "Plain feed",
      direction: "inbound",
      dataType: "clicks",
      method: "ftp",
      methodology: "push_to_platform",
      credentialId: cred.id,
    });
  });

  afterAll(async () => {
    await plain?.stop();
    await plainDb?.drop();
    await rm(plainDir, { recursive: true, force: true });
  });

  async function recorded(): Promise<string[]> {
    const c = new pg.Client({ connectionString: plainDb.url });
    await c.connect();
    try {
      return (await c.query("SELECT file_name FROM transfers ORDER BY id")).rows.map((r) => r.file_name);
    } finally {
      await c.end();
    }
  }

  it("accepts plain FTP logins", async () => {
    const res = await run("curl", [
      "-sS",
      "--user",
      `${plainLogin.username}:${plainLogin.password}`,
      `ftp://127.0.0.1:${plainPort}/`,
    ]);
    expect(res).toMatchObject({ code: 0 });
    expect(res.stdout).toMatch(/plain-feed/);
  });

  it("gives a login's session slot back when it disconnects (at most 2 at once here)", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await run("curl", [
        "-sS",
        "--user",
        `${plainLogin.username}:${plainLogin.password}`,
        `ftp://127.0.0.1:${plainPort}/`,
      ]);
      expect(res.code).toBe(0);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it("keeps an upload whose client waits for the reply", async () => {
    const ftp = await connectRawFtp(plainPort, plainLogin.username, plainLogin.password);
    const data = await ftp.openData();
    expect(await ftp.command(`STOR /${plainConnection.folder}/inbox/whole.csv`)).toMatch(/^150/);
    data.end("ClickId\nwhole\n");
    expect(await ftp.reply()).toMatch(/^226/);
    ftp.control.destroy();
    expect(await recorded()).toContain("whole.csv");
  });

  it("refuses active mode (PORT, EPRT) by default, naming passive mode; a passive transfer then works", async () => {
    const ftp = await connectRawFtp(plainPort, plainLogin.username, plainLogin.password);
    // The client's own address: Ferry would connect there if active mode were on (test/security/ftp.test.ts).
    expect(await ftp.command("PORT 127,0,0,1,39,16")).toBe(
      "502 Active mode (PORT/EPRT) is off on this server: use passive mode (PASV/EPSV)",
    );
    expect(await ftp.command("EPRT |1|127.0.0.1|10000|")).toMatch(/^502 Active mode/);
    const data = await ftp.openData();
    expect(await ftp.command(`STOR /${plainConnection.folder}/inbox/passive.csv`)).toMatch(/^150/);
    data.end("ClickId\npassive\n");
    expect(await ftp.reply()).toMatch(/^226/);
    ftp.control.destroy();
  });

  it("does not keep an upload whose data ended cleanly after its control connection was lost", async () => {
    // FTP's stream mode has no end-of-file marker: a cut upload whose data connection closes normally looks
    // complete. Its client is gone, so no 226 can be sent, and nothing unacknowledged is kept.
    const ftp = await connectRawFtp(plainPort, plainLogin.username, plainLogin.password);
    const data = await ftp.openData();
    expect(await ftp.command(`STOR /${plainConnection.folder}/inbox/cut.csv`)).toMatch(/^150/);
    data.write("ClickId\nhalf-a-li");
    ftp.control.destroy();
    await new Promise((r) => setTimeout(r, 20));
    data.end();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await recorded()).not.toContain("cut.csv");
    expect(await readdir(path.join(plainDir, "data", "files", "tmp"))).toEqual([]);
  });
});
