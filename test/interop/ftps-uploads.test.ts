/**
 * FTPS uploads are whole or refused: lftp with its defaults over TLS 1.3 and 1.2 (it never reads TLS 1.3
 * session tickets, which once turned its close into a reset and stored files short with 226), and a client
 * that resets its data connection mid-file or ends it without the TLS close (426, nothing kept).
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";
import { connectRawFtp } from "../helpers/raw-ftp.js";

const ADMIN = `ftps_uploads_admin_${randomBytes(8).toString("hex")}`;
const KiB = 1024;
const MiB = 1024 * KiB;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let ftpPort: number;
let db: pg.Client;
let login: { username: string; password: string };
let connection: { id: string; folder: string };

const stored = async (name: string) =>
  (
    await db.query("SELECT size::int, sha256 FROM transfers WHERE connection_id = $1 AND file_name = $2", [
      connection.id,
      name,
    ])
  ).rows as { size: number; sha256: string }[];

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function lftp(script: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(
      "lftp",
      [
        "-u",
        `${login.username},${login.password}`,
        "-p",
        String(ftpPort),
        "-e",
        `set ssl:verify-certificate no; set net:max-retries 1; set net:timeout 20; ${script}; bye`,
        "127.0.0.1",
      ],
      { timeout: 120_000, env: { PATH: process.env.PATH ?? "", HOME: dir } },
      (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-ftps-uploads-"));
  database = await createTestDatabase();
  ftpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_FTP_PORT: String(ftpPort),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_LOG_LEVEL: "warn",
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const made = await clicksLogin(ferry.url, ADMIN, ["ftp"]);
  login = made.login;
  connection = made.connections.ftp;
});

afterAll(async () => {
  await db?.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  { tls: "1.3", priority: "" },
  { tls: "1.2", priority: 'set ssl:priority "NORMAL:-VERS-TLS1.3";' },
])("lftp with its defaults, control connection over TLS $tls", ({ tls, priority }) => {
  it("stores every file whole, from 64 KiB to 50 MiB", async () => {
    const sizes = [64 * KiB, MiB + 3, 10 * MiB, 50 * MiB];
    const files = await Promise.all(
      sizes.map(async (size, i) => {
        const data = randomBytes(size);
        const name = `tls${tls}_${i}.csv`;
        await writeFile(path.join(dir, name), data);
        return { name, data };
      }),
    );
    const res = await lftp(
      `${priority} cd ${connection.folder}/inbox; mput ${files.map((f) => path.join(dir, f.name)).join(" ")}`,
    );
    expect(res.code, res.out).toBe(0);
    for (const f of files) {
      expect(await stored(f.name), f.name).toEqual([{ size: f.data.length, sha256: sha256(f.data) }]);
    }
  });
});

describe.each(["TLSv1.3", "TLSv1.2"] as const)(
  "a data connection cut mid-file (control over %s)",
  (maxVersion) => {
    it.each([64 * KiB, 8 * MiB])(
      "answers 426 to a reset after half of %i bytes, and keeps nothing",
      async (size) => {
        const ftp = await connectRawFtp(ftpPort, login.username, login.password, { tls: { maxVersion } });
        await ftp.command(`CWD /${connection.folder}/inbox`);
        const { secure, raw } = await ftp.openSecureData();
        const name = `reset_${maxVersion}_${size}.csv`;
        expect(await ftp.command(`STOR ${name}`)).toMatch(/^150/);
        await new Promise<void>((resolve) => secure.write(randomBytes(size / 2), () => resolve()));
        raw.resetAndDestroy();
        expect(await ftp.reply()).toMatch(/^426 /);
        expect(await stored(name)).toEqual([]);
        ftp.control.destroy();
      },
    );

    it("answers 426 to a TCP end without the TLS close, and keeps nothing", async () => {
      const ftp = await connectRawFtp(ftpPort, login.username, login.password, { tls: { maxVersion } });
      await ftp.command(`CWD /${connection.folder}/inbox`);
      const { secure, raw } = await ftp.openSecureData();
      const name = `fin_${maxVersion}.csv`;
      expect(await ftp.command(`STOR ${name}`)).toMatch(/^150/);
      await new Promise<void>((resolve) => secure.write(randomBytes(256 * KiB), () => resolve()));
      // Past the TLS layer: a FIN with no close_notify before it, as a truncation attack would send.
      raw.end();
      expect(await ftp.reply()).toMatch(/^426 /);
      expect(await stored(name)).toEqual([]);
      ftp.control.destroy();
    });

    it("keeps a file whose data connection closes TLS in order", async () => {
      const ftp = await connectRawFtp(ftpPort, login.username, login.password, { tls: { maxVersion } });
      await ftp.command(`CWD /${connection.folder}/inbox`);
      const { secure } = await ftp.openSecureData();
      const name = `whole_${maxVersion}.csv`;
      const data = randomBytes(3 * MiB);
      expect(await ftp.command(`STOR ${name}`)).toMatch(/^150/);
      secure.end(data);
      expect(await ftp.reply()).toMatch(/^226 /);
      expect(await stored(name)).toEqual([{ size: data.length, sha256: sha256(data) }]);
      ftp.control.destroy();
    });
  },
);

describe("FTP commands third-party clients rely on", () => {
  it("lists with lftp's ls -la, and takes its SITE CHMOD as a harmless no-op", async () => {
    await writeFile(path.join(dir, "listed.csv"), "ClickId\nx\n");
    const res = await lftp(
      `cd ${connection.folder}/inbox; put ${path.join(dir, "listed.csv")}; chmod 644 listed.csv; ls -la; ls -la /${connection.folder}/inbox`,
    );
    expect(res.code, res.out).toBe(0);
    expect(res.out).not.toMatch(/Access failed|451|502/);
    expect(res.out.match(/listed\.csv/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it("answers MLSD and MLST with type, size and modification time (RFC 3659)", async () => {
    const ftp = await connectRawFtp(ftpPort, login.username, login.password, {
      tls: { maxVersion: "TLSv1.3" },
    });
    let mlst = "";
    const onData = (d: Buffer) => {
      mlst += d;
    };
    ftp.control.on("data", onData);
    expect(await ftp.command(`MLST /${connection.folder}/inbox/listed.csv`)).toMatch(/^250 End/);
    ftp.control.off("data", onData);
    expect(await ftp.command(`MFMT 20250601120000 /${connection.folder}/inbox/listed.csv`)).toMatch(
      /^213 Modify=20250601120000;/,
    );
    mlst = "";
    ftp.control.on("data", onData);
    expect(await ftp.command(`MLST /${connection.folder}/inbox/listed.csv`)).toMatch(/^250 End/);
    ftp.control.off("data", onData);
    expect(mlst).toContain("modify=20250601120000;");
    expect(mlst, JSON.stringify(mlst)).toMatch(
      /^ type=file;size=10;modify=\d{14}; \/.+\/inbox\/listed\.csv\r?$/m,
    );
    const { secure } = await ftp.openSecureData();
    let listing = "";
    secure.on("data", (d) => {
      listing += d;
    });
    const ended = new Promise((r) => secure.once("end", r));
    expect(await ftp.command(`MLSD /${connection.folder}/inbox`)).toMatch(/^150/);
    expect(await ftp.reply()).toMatch(/^226/);
    await ended;
    expect(listing).toMatch(/^type=file;size=10;modify=\d{14}; listed\.csv\r$/m);
    ftp.control.destroy();
  });

  it("answers 426 when the client closes a download early", async () => {
    const data = randomBytes(8 * MiB);
    await writeFile(path.join(dir, "big.csv"), data);
    expect((await lftp(`cd ${connection.folder}/inbox; put ${path.join(dir, "big.csv")}`)).code).toBe(0);
    const ftp = await connectRawFtp(ftpPort, login.username, login.password, {
      tls: { maxVersion: "TLSv1.3" },
    });
    const { secure, raw } = await ftp.openSecureData();
    const first = new Promise((r) => secure.once("data", r));
    expect(await ftp.command(`RETR /${connection.folder}/inbox/big.csv`)).toMatch(/^150/);
    await first;
    raw.destroy();
    expect(await ftp.reply()).toMatch(/^426 /);
    ftp.control.destroy();
  });
});
