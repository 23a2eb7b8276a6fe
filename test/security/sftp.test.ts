/**
 * The SFTP server played by a hostile client (ssh2's client, driven beyond what OpenSSH would send):
 * thousands of open handles, many channels on one connection, huge READs, a write far past the end.
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client, type SFTPWrapper } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";

const ADMIN = `sftp_security_admin_${randomBytes(8).toString("hex")}`;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let sftpPort: number;
let login: { username: string; password: string };
let folder: string;
const open: Client[] = [];

async function connect(): Promise<Client> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once("ready", resolve).once("error", reject);
    client.connect({ host: "127.0.0.1", port: sftpPort, ...login, readyTimeout: 20_000 });
  });
  open.push(client);
  return client;
}

const subsystem = (client: Client) =>
  new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));

/** Opens `name` for writing; resolves with the handle or the server's refusal. */
const openWrite = (sftp: SFTPWrapper, name: string) =>
  new Promise<Buffer | Error>((resolve) => sftp.open(name, "w", (err, h) => resolve(err ?? h)));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-sftp-security-"));
  database = await createTestDatabase();
  sftpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_MAX_HANDLES_PER_CREDENTIAL: "600",
    FERRY_LOG_LEVEL: "error",
  });
  const made = await clicksLogin(ferry.url, ADMIN, ["sftp"]);
  login = made.login;
  folder = made.connections.sftp.folder;
});

afterAll(async () => {
  for (const c of open) c.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("SFTP limits", () => {
  it("refuses a session's 513th open file with a clear failure, and serves others meanwhile", async () => {
    const client = await connect();
    const sftp = await subsystem(client);
    const results = await Promise.all(
      Array.from({ length: 520 }, (_, i) => openWrite(sftp, `/${folder}/inbox/h${i}.csv`)),
    );
    const refused = results.filter((r) => r instanceof Error) as Error[];
    expect(results.length - refused.length).toBe(512);
    expect(refused[0]!.message).toMatch(/Too many open files in this session \(at most 512\)/);
    expect((await fetch(`${ferry.url}/healthz`)).status).toBe(200);
    client.end();
  });

  it("caps open files per login across its sessions", async () => {
    // Handles of the session above are given back when it ends.
    await new Promise((r) => setTimeout(r, 300));
    const clients = [await connect(), await connect()];
    const [first, second] = await Promise.all(clients.map(subsystem));
    const a = await Promise.all(
      Array.from({ length: 400 }, (_, i) => openWrite(first!, `/${folder}/inbox/a${i}.csv`)),
    );
    const b = await Promise.all(
      Array.from({ length: 400 }, (_, i) => openWrite(second!, `/${folder}/inbox/b${i}.csv`)),
    );
    expect(a.filter((r) => r instanceof Error)).toHaveLength(0);
    const refused = b.filter((r) => r instanceof Error) as Error[];
    expect(refused).toHaveLength(200);
    expect(refused[0]!.message).toMatch(/Too many open files for this login/);
    for (const c of clients) c.end();
    // The slots come back when the sessions end: the next test opens files again.
    await new Promise((r) => setTimeout(r, 300));
  });

  it("opens at most 10 session channels on one SSH connection", async () => {
    const client = await connect();
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        subsystem(client).then(
          () => "ok",
          (err: Error) => err.message,
        ),
      ),
    );
    expect(results.filter((r) => r === "ok")).toHaveLength(10);
    client.end();
  });

  it("answers a READ of 16 MiB with at most 256 KiB less 1 KiB", async () => {
    const client = await connect();
    const sftp = await subsystem(client);
    const data = randomBytes(3 * 1024 * 1024);
    const name = `/${folder}/inbox/big.csv`;
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(name, data, (err) => (err ? reject(err) : resolve())),
    );
    const handle = await new Promise<Buffer>((resolve, reject) =>
      sftp.open(name, "r", (err, h) => (err ? reject(err) : resolve(h))),
    );
    // ssh2's client would split the request itself: let it ask for 16 MiB at once, and take a large reply.
    const internals = sftp as unknown as { _maxReadLen: number; _maxInPktLen: number };
    internals._maxReadLen = 16 * 1024 * 1024;
    internals._maxInPktLen = 32 * 1024 * 1024;
    const buf = Buffer.alloc(16 * 1024 * 1024);
    const got = await new Promise<number>((resolve, reject) =>
      sftp.read(handle, buf, 0, buf.length, 0, (err, n) => (err ? reject(err) : resolve(n))),
    );
    expect(got).toBe(256 * 1024 - 1024);
    expect(buf.subarray(0, got).equals(data.subarray(0, got))).toBe(true);
    client.end();
  });

  it("refuses a write that would leave a gap of more than 256 MiB", async () => {
    const client = await connect();
    const sftp = await subsystem(client);
    const handle = (await openWrite(sftp, `/${folder}/inbox/sparse.csv`)) as Buffer;
    const err = await new Promise<Error | undefined>((resolve) =>
      sftp.write(handle, Buffer.from("x"), 0, 1, 4 * 1024 ** 3, (e) => resolve(e ?? undefined)),
    );
    expect(err?.message).toMatch(/leaves a gap of more than 268435456 bytes/);
    client.end();
  });
});

describe("SFTP resume (never stored with zeros in front)", () => {
  const put = (sftp: SFTPWrapper, name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) =>
      sftp.writeFile(name, data, (err) => (err ? reject(err) : resolve())),
    );
  const openWith = (sftp: SFTPWrapper, name: string, flags: string) =>
    new Promise<Buffer | Error>((resolve) => sftp.open(name, flags as "w", (err, h) => resolve(err ?? h)));

  it("refuses to open an uploaded file in place (paramiko's r+, JSch's resume) or to append, before any byte", async () => {
    const client = await connect();
    const sftp = await subsystem(client);
    const name = `/${folder}/inbox/resumed.csv`;
    await put(sftp, name, Buffer.from("ClickId\nfirst-half\n"));
    for (const flags of ["r+", "a"]) {
      const res = await openWith(sftp, name, flags);
      expect(res, flags).toBeInstanceOf(Error);
      expect((res as Error & { code?: number }).code, flags).toBe(8); // SSH_FX_OP_UNSUPPORTED
      expect((res as Error).message).toMatch(
        /Resuming an upload .* is not supported: upload the whole file again/,
      );
    }
    client.end();
  });

  it("refuses at close a file written with a gap, instead of storing zeros", async () => {
    const client = await connect();
    const sftp = await subsystem(client);
    const handle = (await openWrite(sftp, `/${folder}/inbox/gap.csv`)) as Buffer;
    await new Promise<void>((resolve, reject) =>
      sftp.write(handle, Buffer.from("tail"), 0, 4, 1000, (err) => (err ? reject(err) : resolve())),
    );
    const closed = await new Promise<Error | undefined>((resolve) =>
      sftp.close(handle, (err) => resolve(err ?? undefined)),
    );
    expect(closed?.message).toMatch(/The file has gaps: 4 of its 1004 bytes were written/);
    client.end();
  });
});

describe("SFTP extensions", () => {
  it("renames with posix-rename@openssh.com and names the extensions it does not support", async () => {
    const client = await connect();
    const sftp = await subsystem(client);
    // ssh2's client sends these only to servers that announce them: let it.
    const ext = sftp as unknown as { _extensions: Record<string, string> };
    ext._extensions["posix-rename@openssh.com"] = "1";
    ext._extensions["statvfs@openssh.com"] = "2";
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(`/${folder}/inbox/renamed.csv.part`, "ClickId\nr1\n", (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.ext_openssh_rename(`/${folder}/inbox/renamed.csv.part`, `/${folder}/inbox/renamed.csv`, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    const names = await new Promise<string[]>((resolve, reject) =>
      sftp.readdir(`/${folder}/inbox`, (err, list) =>
        err ? reject(err) : resolve(list.map((e) => e.filename)),
      ),
    );
    expect(names).toContain("renamed.csv");
    expect(names).not.toContain("renamed.csv.part");
    const statvfs = await new Promise<Error | undefined>((resolve) =>
      sftp.ext_openssh_statvfs(`/${folder}/inbox`, (err) => resolve(err ?? undefined)),
    );
    expect(statvfs?.message).toMatch(/The extension statvfs@openssh.com is not supported here/);
    client.end();
  });
});

describe("SSH host keys", () => {
  /** Host key algorithm OpenSSH's ssh-keyscan gets the server to use, or the failure. */
  const scan = (algorithm: string) =>
    new Promise<string>((resolve) =>
      execFile(
        "ssh",
        [
          "-p",
          String(sftpPort),
          "-o",
          `HostKeyAlgorithms=${algorithm}`,
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "BatchMode=yes",
          "-o",
          "PreferredAuthentications=none",
          "-v",
          "nobody@127.0.0.1",
          "true",
        ],
        { timeout: 20_000 },
        (_err, stdout, stderr) => resolve(stdout + stderr),
      ),
    );

  it("offers ed25519, ECDSA and RSA with SHA-2, never ssh-rsa (SHA-1)", async () => {
    expect(await scan("ecdsa-sha2-nistp256")).toMatch(/Server host key: ecdsa-sha2-nistp256/);
    expect(await scan("rsa-sha2-512")).toMatch(/Server host key: ssh-rsa SHA256:/);
    expect(await scan("ssh-rsa")).toMatch(/no matching host key type found/);
  });
});

describe("SFTP modification times", () => {
  it("keeps the time a client sets on an upload (SETSTAT after, FSETSTAT before close) and lists it", async () => {
    const client = await connect();
    const sftp = await subsystem(client);
    const when = Date.UTC(2025, 5, 1, 12, 0, 0) / 1000;
    const after = `/${folder}/inbox/timed-after.csv`;
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(after, "ClickId\nt1\n", (err) => (err ? reject(err) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.utimes(after, when, when, (err) => (err ? reject(err) : resolve())),
    );
    const before = `/${folder}/inbox/timed-before.csv.part`;
    const handle = (await openWrite(sftp, before)) as Buffer;
    await new Promise<void>((resolve, reject) =>
      sftp.write(handle, Buffer.from("ClickId\nt2\n"), 0, 11, 0, (err) => (err ? reject(err) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.futimes(handle, when + 60, when + 60, (err) => (err ? reject(err) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      sftp.close(handle, (err) => (err ? reject(err) : resolve())),
    );
    // The time stays with a temporary-name upload through its rename.
    await new Promise<void>((resolve, reject) =>
      sftp.rename(before, `/${folder}/inbox/timed-before.csv`, (err) => (err ? reject(err) : resolve())),
    );
    const list = await new Promise<{ filename: string; attrs: { mtime: number } }[]>((resolve, reject) =>
      sftp.readdir(`/${folder}/inbox`, (err, l) => (err ? reject(err) : resolve(l))),
    );
    const mtime = (name: string) => list.find((e) => e.filename === name)?.attrs.mtime;
    expect(mtime("timed-after.csv")).toBe(when);
    expect(mtime("timed-before.csv")).toBe(when + 60);
    client.end();
  });
});
