/**
 * Two `ferry serve` nodes on one PostgreSQL and one S3 bucket (a real Ceph RADOS Gateway), as behind a load
 * balancer: a file uploaded through one node is read through the other; a ban made through one node holds on
 * the other at once; a login's session cap counts its sessions on both.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TLSSocket } from "node:tls";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { clicksLogin, type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { sftpBatch } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";
import { connectRawFtp } from "../helpers/raw-ftp.js";
import { startS3, type TestS3 } from "../helpers/s3.js";
import { ssh2Login } from "../helpers/ssh2-login.js";

const ADMIN = `nodes_admin_${randomBytes(8).toString("hex")}`;
/** Every node of one database has the same master key. */
const MASTER_KEY = randomBytes(32).toString("base64");
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let s3: TestS3;
const nodes: { ferry: RunningFerry; sftp: number; ftp: number }[] = [];
let login: { username: string; password: string };
let folder: string;
const held: Client[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-nodes-"));
  [database, s3] = await Promise.all([createTestDatabase(), startS3()]);
  for (const i of [1, 2]) {
    const [sftp, ftp] = [await freePort(), await freePort()];
    const ferry = await startServe({
      FERRY_MASTER_KEY: MASTER_KEY,
      ...s3.env,
      DATABASE_URL: database.url,
      FERRY_DATA_DIR: path.join(dir, `node${i}`),
      FERRY_SFTP_PORT: String(sftp),
      FERRY_FTP_PORT: String(ftp),
      FERRY_ADMIN_TOKEN: ADMIN,
      FERRY_WORKERS: i === 1 ? "1" : "0",
      FERRY_LOGIN_MAX_FAILURES: "2",
      FERRY_MAX_SESSIONS_PER_CREDENTIAL: "2",
      FERRY_LOG_LEVEL: "warn",
    });
    nodes.push({ ferry, sftp, ftp });
  }
  const made = await clicksLogin(nodes[0]!.ferry.url, ADMIN, ["sftp", "ftp"]);
  login = made.login;
  folder = made.connections.sftp.folder;
}, 120_000);

afterAll(async () => {
  for (const c of held) c.end();
  for (const n of nodes) await n.ferry.stop();
  await s3?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

const sftpVia = (node: number, commands: string[]) =>
  sftpBatch({ port: nodes[node]!.sftp, ...login, workDir: dir }, commands);

/** The SHA-256 of the host key a node presents, as an SSH client sees it. */
const hostKeyOf = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const client = new Client();
    client.once("error", reject);
    client.connect({
      host: "127.0.0.1",
      port,
      username: "nobody",
      password: "x",
      hostVerifier: (key: Buffer) => {
        resolve(createHash("sha256").update(key).digest("base64"));
        client.end();
        return false;
      },
    });
  });

describe("two nodes on one database and one bucket", () => {
  it("present the same SSH host keys and FTPS certificate, made once and kept in the database", async () => {
    expect(await hostKeyOf(nodes[1]!.sftp)).toBe(await hostKeyOf(nodes[0]!.sftp));
    const certOf = async (port: number) => {
      const ftp = await connectRawFtp(port, login.username, login.password, {
        tls: { maxVersion: "TLSv1.3" },
      });
      const fingerprint = (ftp.control as TLSSocket).getPeerCertificate().fingerprint256;
      ftp.control.destroy();
      return fingerprint;
    };
    expect(await certOf(nodes[1]!.ftp)).toBe(await certOf(nodes[0]!.ftp));
  });

  it("refuses to start a node whose master key is not the database's", async () => {
    const res = await runCli(["serve"], {
      ...s3.env,
      DATABASE_URL: database.url,
      FERRY_DATA_DIR: path.join(dir, "node3"),
      FERRY_MASTER_KEY: randomBytes(32).toString("base64"),
      FERRY_HTTP_PORT: String(await freePort()),
      FERRY_SFTP_PORT: String(await freePort()),
      FERRY_FTP_PORT: String(await freePort()),
      FERRY_SMTP_PORT: String(await freePort()),
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /sealed with another master key: give every Ferry process that shares the database the same FERRY_MASTER_KEY/,
    );
  });

  it("reads through node 2 the results of a file uploaded through node 1", async () => {
    const local = path.join(dir, "clicks.csv");
    await writeFile(local, "ClickId,CampaignId,MediaId,EventDate\nn1,1,1,2026-11-30T10:00:00Z\n");
    const put = await sftpVia(0, [`put ${local} /${folder}/inbox/clicks.csv`]);
    expect(put.code, put.stderr).toBe(0);
    const back = path.join(dir, "summary.json");
    let got = { code: 1, stdout: "", stderr: "" };
    for (let i = 0; i < 100 && got.code !== 0; i++) {
      got = await sftpVia(1, [`get /${folder}/results/clicks_summary.json ${back}`]);
      if (got.code !== 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(await readFile(back, "utf8"))).toMatchObject({
      file: "clicks.csv",
      rows: { total: 1 },
    });
  });

  it("holds a ban made through node 1 on node 2 at once", async () => {
    const via = (node: number, password: string, from: string) =>
      ssh2Login({ port: nodes[node]!.sftp, username: login.username, password, from });
    expect(await via(0, "wrong-password-1", "127.0.0.9")).toMatch(/authentication/i);
    expect(await via(0, "wrong-password-2", "127.0.0.9")).toMatch(/authentication/i);
    // Banned: the right password is refused on the other node too, from that address only.
    expect(await via(1, login.password, "127.0.0.9")).toMatch(/authentication/i);
    expect(await via(1, login.password, "127.0.0.10")).toBe("ok");
  });

  it("counts a login's sessions on both nodes against its cap", async () => {
    const open = (node: number) =>
      new Promise<string>((resolve) => {
        const client = new Client();
        client.once("ready", () => {
          held.push(client);
          resolve("ok");
        });
        client.once("error", (err) => resolve(err.message));
        client.connect({ host: "127.0.0.1", port: nodes[node]!.sftp, ...login });
      });
    expect(await open(0)).toBe("ok");
    expect(await open(1)).toBe("ok");
    expect(await open(0)).toMatch(/Too many sessions for this login at once \(its limit is 2\)/);
    expect(await open(1)).toMatch(/Too many sessions for this login at once/);
    held.pop()!.end();
    let again = "";
    for (let i = 0; i < 50 && again !== "ok"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await open(0);
    }
    expect(again).toBe("ok");
  });
});
