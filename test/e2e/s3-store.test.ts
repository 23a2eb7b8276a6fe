/**
 * `ferry serve` keeping its files in S3 (a real Ceph RADOS Gateway): OpenSSH uploads land in the bucket, not on
 * the node's disk, are processed from there and read back over SFTP; an upload cut by its client leaves no
 * Transfer and no multipart upload behind.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ListMultipartUploadsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenHash } from "../../src/pipeline/deliver.js";
import { s3Client } from "../../src/store/s3.js";
import { createTestDatabase } from "../helpers/db.js";
import { clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import { sftpBatch, sshArgs } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";
import { startS3, type TestS3 } from "../helpers/s3.js";

const ADMIN = `s3_admin_${randomBytes(8).toString("hex")}`;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let s3: TestS3;
let ferry: RunningFerry;
let db: pg.Client;
let sftpPort: number;
let login: { username: string; password: string };
let folder: string;

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const bucketKeys = async () =>
  (
    (await s3Client(s3.options).send(new ListObjectsV2Command({ Bucket: s3.options.bucket }))).Contents ?? []
  ).map((o) => o.Key!);
const openUploads = async () =>
  (await s3Client(s3.options).send(new ListMultipartUploadsCommand({ Bucket: s3.options.bucket }))).Uploads ??
  [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-s3-e2e-"));
  [database, s3] = await Promise.all([createTestDatabase(), startS3()]);
  sftpPort = await freePort();
  ferry = await startServe({
    ...s3.env,
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "1",
    FERRY_S3_PRESIGN_DOWNLOADS: "true",
    FERRY_LOG_LEVEL: "warn",
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const made = await clicksLogin(ferry.url, ADMIN, ["sftp"]);
  login = made.login;
  folder = made.connections.sftp.folder;
}, 120_000);

afterAll(async () => {
  await db?.end();
  await ferry?.stop();
  await s3?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

const sftp = (commands: string[]) => sftpBatch({ port: sftpPort, ...login, workDir: dir }, commands);

describe("ferry serve with FERRY_STORE_URL=s3://…", () => {
  it("keeps an OpenSSH upload in the bucket, processes it from there, and serves its results back", async () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => `c${i},1,1,2026-11-30T10:00:00Z`).join("\n");
    const data = Buffer.from(`ClickId,CampaignId,MediaId,EventDate\n${rows}\n`);
    const local = path.join(dir, "clicks.csv");
    await writeFile(local, data);
    const put = await sftp([`put ${local} /${folder}/inbox/clicks.csv`]);
    expect(put.code, put.stderr).toBe(0);
    const t = (
      await db.query("SELECT id, store_key, size, sha256 FROM transfers WHERE file_name = 'clicks.csv'")
    ).rows[0];
    expect({ size: Number(t.size), sha256: t.sha256 }).toEqual({ size: data.length, sha256: sha(data) });
    expect(await bucketKeys()).toContain(`files/${t.store_key}`);
    // Nothing of it on the node's own disk.
    expect(await readdir(path.join(dir, "data", "files")).catch(() => [])).toEqual([]);
    let status = "";
    for (let i = 0; i < 300 && !/processed|partial|rejected|failed/.test(status); i++) {
      status = (await db.query("SELECT status FROM transfers WHERE id = $1", [t.id])).rows[0].status;
      if (!/processed|partial|rejected|failed/.test(status)) await new Promise((r) => setTimeout(r, 100));
    }
    const done = (await db.query("SELECT status, rows_total FROM transfers WHERE id = $1", [t.id])).rows[0];
    expect(done.rows_total).toBe(200_000);
    const back = path.join(dir, "summary.json");
    const get = await sftp([`get /${folder}/results/clicks_summary.json ${back}`]);
    expect(get.code, get.stderr).toBe(0);
    // An emailed download link of the file sends the browser to a presigned URL of the bucket.
    const token = randomBytes(32).toString("base64url");
    await db.query(
      `INSERT INTO download_links (token_hash, account_id, transfer_id, expires_at, max_uses)
       SELECT $1, account_id, id, now() + interval '1 day', 10 FROM transfers WHERE id = $2`,
      [tokenHash(token), t.id],
    );
    const link = await fetch(`${ferry.url}/downloads/${token}`, { redirect: "manual" });
    expect(link.status).toBe(302);
    const location = link.headers.get("location")!;
    expect(location).toMatch(
      new RegExp(`^${s3.options.endpoint}/${s3.options.bucket}/files/${t.store_key}\\?.*X-Amz-Signature=`),
    );
    expect(sha(Buffer.from(await (await fetch(location)).arrayBuffer()))).toBe(sha(data));
  }, 120_000);

  it("leaves no Transfer and no multipart upload when the client is killed mid-upload", async () => {
    const local = path.join(dir, "big.csv");
    await writeFile(local, Buffer.concat([Buffer.from("ClickId\n"), randomBytes(64 * 1024 * 1024)]));
    const { args, env } = await sshArgs({ port: sftpPort, ...login, workDir: dir });
    const child = spawn("sftp", [...args, "-b", "-", `${login.username}@127.0.0.1`], { env });
    child.stdin.end(`put ${local} /${folder}/inbox/cut.csv\n`);
    // Killed once its multipart upload has parts in the gateway.
    for (let i = 0; i < 200 && (await openUploads()).length === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await openUploads()).length).toBeGreaterThan(0);
    child.kill("SIGKILL");
    let left = 1;
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await openUploads()).length;
    }
    expect(left).toBe(0);
    expect((await db.query("SELECT 1 FROM transfers WHERE file_name = 'cut.csv'")).rowCount).toBe(0);
  }, 120_000);
});
