/**
 * Three `ferry serve` nodes behind HAProxy (TCP mode, PROXY protocol) on one PostgreSQL and one S3 bucket (a
 * real Ceph RADOS Gateway), driven by real clients through the balancer: OpenSSH sftp and scp, curl over
 * FTPS (passive data through the balancer to the right node), swaks. Nodes die with SIGKILL in the middle of
 * an upload and of processing; a schedule ticks on all three; a ban made through one node holds on another.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { ListMultipartUploadsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb } from "../../src/db/pool.js";
import { SWEEP_DEFAULTS, sweepStore } from "../../src/pipeline/sweep.js";
import { s3Client, s3Store } from "../../src/store/s3.js";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import {
  type BalancedNode,
  type BalancerPorts,
  nodeEnv,
  planCluster,
  type RunningHaproxy,
  startHaproxy,
} from "../helpers/haproxy.js";
import { scp, sftpBatch, sftpSpawn } from "../helpers/openssh.js";
import { startS3, type TestS3 } from "../helpers/s3.js";
import { ssh2Login } from "../helpers/ssh2-login.js";

const ADMIN = `cluster_admin_${randomBytes(8).toString("hex")}`;
const MASTER_KEY = randomBytes(32).toString("base64");
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let db: pg.Client;
let s3: TestS3;
let balancer: RunningHaproxy;
let front: BalancerPorts;
const specs: BalancedNode[] = [];
const nodes: (RunningFerry | null)[] = [];
let token: string;
let login: { username: string; password: string };
let folders: { sftp: string; ftp: string };
let program: { campaignId: number; trackerId: number; partnerId: number };

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const api = (method: string, p: string, body?: unknown) =>
  apiCall(`http://127.0.0.1:${front.http}`, token, method, p, body);

function envOf(spec: BalancedNode): Record<string, string> {
  return {
    ...s3.env,
    ...nodeEnv(front, spec),
    FERRY_MASTER_KEY: MASTER_KEY,
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, spec.name),
    FERRY_PUBLIC_URL: `http://127.0.0.1:${front.http}`,
    FERRY_EMAIL_DOMAIN: "in.cluster.test",
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_LOGIN_MAX_FAILURES: "2",
    FERRY_SCHEDULER_SECONDS: "1",
    FERRY_LOG_LEVEL: "info",
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-cluster-"));
  [database, s3] = await Promise.all([createTestDatabase(), startS3()]);
  const plan = await planCluster(3, { direct: true });
  front = plan.front;
  specs.push(...plan.nodes);
  // One node first (it migrates the database and makes the shared keys), then the others side by side.
  nodes.push(await startServe(envOf(specs[0]!)));
  nodes.push(...(await Promise.all(specs.slice(1).map((spec) => startServe(envOf(spec))))));
  balancer = await startHaproxy(dir, front, specs);
  const made = await clicksLogin(`http://127.0.0.1:${front.http}`, ADMIN, ["sftp", "ftp"]);
  token = made.token;
  login = made.login;
  folders = { sftp: made.connections.sftp.folder, ftp: made.connections.ftp.folder };
  const campaign = await api("POST", "/api/v1/campaigns", { name: "Cluster" });
  const tracker = await api("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
    name: "Sale",
    payout: { type: "percent", value: 10 },
  });
  const partner = await api("POST", "/api/v1/partners", { name: "P" });
  program = { campaignId: campaign.id, trackerId: tracker.id, partnerId: partner.id };
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
}, 180_000);

afterAll(async () => {
  await db?.end();
  await balancer?.stop();
  for (const n of nodes) await n?.stop();
  await s3?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

const sftpLogin = () => ({ port: front.sftp, workDir: dir, ...login });
const sftpDoor = (node: string) => ({ port: front.direct![node]!, workDir: dir, ...login });

async function transferOf(fileName: string) {
  const { rows } = await db.query("SELECT * FROM transfers WHERE file_name = $1 ORDER BY created_at", [
    fileName,
  ]);
  return rows;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Whether a node logged `message` for a transfer (one JSON line each). */
const logged = (node: RunningFerry | null, transferId: string, message: string) =>
  (node?.output() ?? "")
    .split("\n")
    .some((line) => line.includes(`"transferId":"${transferId}"`) && line.includes(`"msg":"${message}"`));

function curl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile("curl", ["-sS", "--ssl-reqd", "-k", ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err.code as number) ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

describe("three nodes behind HAProxy", () => {
  it("spreads SFTP and scp sessions over the nodes, each landing upload recorded once", async () => {
    const before = await balancer.sessions("sftp_nodes");
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const name = `spread_${i}.csv`;
      const local = path.join(dir, name);
      await writeFile(local, `ClickId,CampaignId,MediaId,EventDate\ns${i},1,1,2026-11-30T10:00:00Z\n`);
      const res =
        i % 2 === 0
          ? await sftpBatch(sftpLogin(), [`put ${local} /${folders.sftp}/inbox/${name}`])
          : await scp(sftpLogin(), local, `remote:/${folders.sftp}/inbox/${name}`);
      expect(res.code, res.stderr).toBe(0);
      names.push(name);
    }
    const after = await balancer.sessions("sftp_nodes");
    // leastconn takes servers of equal load in turn: every node took sessions.
    for (const n of specs) expect(after[n.name]! - (before[n.name] ?? 0)).toBeGreaterThan(0);
    for (const name of names) {
      const rows = await waitFor(name, async () => {
        const t = await transferOf(name);
        return t.length === 1 && t[0].status !== "received" && t[0].status !== "processing" && t;
      });
      expect(rows).toHaveLength(1);
    }
  });

  it("takes FTPS through the balancer, the passive data connection reaching the node that answered", async () => {
    const before = await balancer.sessions("ftp_nodes");
    for (let i = 0; i < 3; i++) {
      const name = `ftps_${i}.csv`;
      const content = `ClickId,CampaignId,MediaId,EventDate\nf${i},1,1,2026-11-30T10:00:00Z\n`;
      const local = path.join(dir, name);
      await writeFile(local, content);
      const put = await curl([
        "--user",
        `${login.username}:${login.password}`,
        "-T",
        local,
        `ftp://127.0.0.1:${front.ftp}/${folders.ftp}/inbox/${name}`,
      ]);
      expect(put.code, put.out).toBe(0);
      const t = await waitFor(name, async () => (await transferOf(name))[0]);
      expect(t.sha256).toBe(sha256(Buffer.from(content)));
    }
    const list = await curl([
      "--user",
      `${login.username}:${login.password}`,
      `ftp://127.0.0.1:${front.ftp}/${folders.ftp}/inbox/`,
    ]);
    expect(list.code, list.out).toBe(0);
    const after = await balancer.sessions("ftp_nodes");
    for (const n of specs) expect(after[n.name]! - (before[n.name] ?? 0)).toBeGreaterThan(0);
  });

  it("takes mail through the balancer (swaks, STARTTLS)", async () => {
    const connection = await api("POST", "/api/v1/connections", {
      name: "Orders by mail",
      direction: "inbound",
      dataType: "conversions",
      method: "email",
      methodology: "push_to_platform",
      details: { filePattern: "orders_*.csv" },
    });
    const at = new Date(Date.now() - 86_400_000).toISOString();
    for (let i = 0; i < 3; i++) {
      const file = path.join(dir, `orders_mail${i}.csv`);
      await writeFile(
        file,
        `CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount\n${program.campaignId},${program.trackerId},${at},MAIL-${i},${program.partnerId},10.00\n`,
      );
      const sent = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(
          "swaks",
          [
            "--server",
            `127.0.0.1:${front.smtp}`,
            "--tls",
            "--helo",
            "client.test",
            "--from",
            "erp@brand.test",
            "--to",
            connection.address,
            "--attach",
            `@${file}`,
          ],
          { timeout: 30_000 },
          (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr }),
        ),
      );
      expect(sent.code, sent.out).toBe(0);
    }
    const items = await waitFor("three mailed files processed", async () => {
      const got = (await api("GET", `/api/v1/connections/${connection.id}/transfers`)).items;
      return got.length === 3 && got.every((t: { status: string }) => t.status === "processed") && got;
    });
    expect(items.map((t: { fileName: string }) => t.fileName).sort()).toEqual([
      "orders_mail0.csv",
      "orders_mail1.csv",
      "orders_mail2.csv",
    ]);
    const smtp = await balancer.sessions("smtp_nodes");
    expect(Object.values(smtp).filter((n) => n > 0).length).toBe(3);
  });

  it("holds a ban made through node 1 on node 3, for that client address only (PROXY protocol)", async () => {
    const via = (node: string, password: string, from: string) =>
      ssh2Login({ port: front.direct![node]!, username: login.username, password, from });
    expect(await via("node1", "wrong-password-1", "127.0.0.9")).toMatch(/authentication/i);
    expect(await via("node1", "wrong-password-2", "127.0.0.9")).toMatch(/authentication/i);
    expect(await via("node3", login.password, "127.0.0.9")).toMatch(/authentication/i);
    // Every connection comes from HAProxy's own address: without the PROXY header this one would be banned too.
    expect(await via("node3", login.password, "127.0.0.10")).toBe("ok");
    const { rows } = await db.query("SELECT key FROM login_bans");
    expect(rows.map((r) => r.key)).toEqual([`pair:127.0.0.9|${login.username}`]);
  });

  it("sees the HTTP client's own address through the balancer, not a forged X-Forwarded-For", async () => {
    const signIn = (from: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ login: "nobody@cluster.test", password: "wrong-password" });
        const req = http.request(
          {
            host: "127.0.0.1",
            port: front.http,
            path: "/api/v1/session",
            method: "POST",
            localAddress: from,
            headers: { "content-type": "application/json", ...headers },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    expect(await signIn("127.0.0.7")).toBe(401);
    expect(await signIn("127.0.0.8", { "x-forwarded-for": "198.51.100.66" })).toBe(401);
    const { rows } = await db.query(
      "SELECT DISTINCT key FROM login_failures WHERE key LIKE 'pair:%web:nobody%'",
    );
    expect(rows.map((r) => r.key).sort()).toEqual([
      "pair:127.0.0.7|web:nobody@cluster.test",
      "pair:127.0.0.8|web:nobody@cluster.test",
    ]);
  });

  it("reads through node 2 what was uploaded through node 1", async () => {
    const content = randomBytes(3 * 1024 * 1024);
    const name = "door.bin";
    await writeFile(path.join(dir, name), content);
    const put = await sftpBatch(sftpDoor("node1"), [
      `put ${path.join(dir, name)} /${folders.sftp}/inbox/${name}`,
    ]);
    expect(put.code, put.stderr).toBe(0);
    const summary = path.join(dir, "door_summary.json");
    const got = await waitFor("the summary through node 2", async () => {
      const r = await sftpBatch(sftpDoor("node2"), [
        `get /${folders.sftp}/results/door_summary.json ${summary}`,
      ]);
      return r.code === 0 && r;
    });
    expect(got.code).toBe(0);
    const parsed = JSON.parse(await readFile(summary, "utf8"));
    expect(parsed).toMatchObject({ file: name });
    const [t] = await transferOf(name);
    expect(t.sha256).toBe(sha256(content));
    // The same bytes, read from the bucket through the download API of another node.
    const res = await fetch(
      `http://${specs[1]!.address}:${specs[1]!.http}/api/v1/transfers/${t.id}/content`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(content));
  });

  it("fires a schedule once per period with all three nodes ticking", async () => {
    const cred = await api("POST", "/api/v1/credentials", { name: "reports", kind: "password" });
    const out = await api("POST", "/api/v1/connections", {
      name: "Hourly actions",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId: cred.id,
      details: { report: "action_listing", schedule: { frequency: "hourly" } },
    });
    // Created five and a half hours ago: five or six hourly periods are due at once, on every node's tick.
    await db.query(
      "UPDATE connections SET created_at = now() - interval '5 hours 30 minutes' WHERE id = $1",
      [out.id],
    );
    const runs = async () =>
      (
        await db.query(
          "SELECT period_start, count(*)::int AS n FROM report_runs WHERE connection_id = $1 AND trigger = 'schedule' GROUP BY 1",
          [out.id],
        )
      ).rows;
    await waitFor("scheduled runs", async () => (await runs()).length >= 5);
    // Three more ticks of every node.
    await sleep(3500);
    const periods = await runs();
    expect(periods.length).toBeGreaterThanOrEqual(5);
    expect(periods.every((p) => p.n === 1)).toBe(true);
    const files = await waitFor("one file per run", async () => {
      const { rows } = await db.query(
        "SELECT r.id, count(t.id)::int AS n FROM report_runs r JOIN transfers t ON t.id = r.transfer_id WHERE r.connection_id = $1 GROUP BY 1",
        [out.id],
      );
      return rows.length === periods.length && rows;
    });
    expect(files.every((f: { n: number }) => f.n === 1)).toBe(true);
    const { rows: all } = await db.query(
      "SELECT count(*)::int AS n FROM transfers WHERE connection_id = $1",
      [out.id],
    );
    expect(all[0].n).toBe(periods.length);
    // Which node created them is each node's own count in its log: together, exactly the runs.
    const logged = nodes
      .flatMap((n) => [...(n?.output() ?? "").matchAll(/"runs":(\d+).*scheduled runs created/g)])
      .reduce((s, m) => s + Number(m[1]), 0);
    expect(logged).toBe(periods.length);
  });
});

describe("a node killed with SIGKILL", () => {
  it("mid-upload: no Transfer, no object; the retry through the balancer lands on another node", async () => {
    const content = randomBytes(48 * 1024 * 1024);
    const name = "killed_upload.bin";
    const local = path.join(dir, name);
    await writeFile(local, content);
    const client = s3Client(s3.options);
    const objectsBefore = (
      await client.send(new ListObjectsV2Command({ Bucket: s3.options.bucket, Prefix: s3.options.prefix }))
    ).KeyCount;
    // 40 Mbit/s: about ten seconds for the file.
    const sftp = await sftpSpawn(
      sftpLogin(),
      [`put ${local} /${folders.sftp}/inbox/${name}`],
      ["-l", "40000"],
    );
    const exited = new Promise<number | null>((r) => sftp.once("exit", r));
    // Once its first part is in the bucket, the node holding the session dies.
    await waitFor("the multipart upload", async () => {
      const u = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.options.bucket }));
      return (u.Uploads ?? []).length > 0;
    });
    const current = await balancer.sessions("sftp_nodes", "scur");
    const victim = specs.findIndex((n) => current[n.name] === 1);
    expect(victim).toBeGreaterThanOrEqual(0);
    await nodes[victim]!.stop("SIGKILL");
    nodes[victim] = null;
    expect(await exited).not.toBe(0);
    expect(await transferOf(name)).toEqual([]);
    const after = await client.send(
      new ListObjectsV2Command({ Bucket: s3.options.bucket, Prefix: s3.options.prefix }),
    );
    expect(after.KeyCount).toBe(objectsBefore);
    // The retry: the balancer sends it to a live node.
    const retry = await sftpBatch(sftpLogin(), [`put ${local} /${folders.sftp}/inbox/${name}`]);
    expect(retry.code, retry.stderr).toBe(0);
    const [t] = await waitFor("the retried upload", async () => {
      const rows = await transferOf(name);
      return rows.length === 1 && rows;
    });
    expect(t.sha256).toBe(sha256(content));
    expect(Number(t.size)).toBe(content.length);
    // What the dead node began is a multipart upload no object refers to: the sweep every node runs aborts it.
    const pending = (await client.send(new ListMultipartUploadsCommand({ Bucket: s3.options.bucket })))
      .Uploads;
    expect(pending?.length).toBe(1);
    const handle = openDb(database.url, { max: 2 });
    try {
      const swept = await sweepStore(
        handle.db,
        s3Store(s3.options),
        SWEEP_DEFAULTS,
        Date.now() + 2 * 3_600_000,
      );
      expect(swept.uploads).toBe(1);
    } finally {
      await handle.close();
    }
    expect(
      (await client.send(new ListMultipartUploadsCommand({ Bucket: s3.options.bucket }))).Uploads ?? [],
    ).toEqual([]);
    // The node comes back (as an operator restarts it) and takes its share again.
    nodes[victim] = await startServe(envOf(specs[victim]!));
  });

  it("mid-processing: another node finishes the file, exactly once", async () => {
    const rows = 200_000;
    const at = new Date(Date.now() - 86_400_000).toISOString();
    const lines = ["CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount"];
    let cents = 0;
    for (let i = 0; i < rows; i++) {
      const amount = 1000 + (i % 5000);
      cents += amount;
      lines.push(
        `${program.campaignId},${program.trackerId},${at},KILL-${i},${program.partnerId},${(amount / 100).toFixed(2)}`,
      );
    }
    const connection = await api("POST", "/api/v1/connections", {
      name: "Big orders",
      direction: "inbound",
      dataType: "conversions",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId: (await db.query("SELECT id FROM credentials WHERE username = $1", [login.username]))
        .rows[0].id,
    });
    const name = "big_orders.csv";
    await writeFile(path.join(dir, name), `${lines.join("\n")}\n`);
    const put = await sftpBatch(sftpLogin(), [
      `put ${path.join(dir, name)} /${connection.folder}/inbox/${name}`,
    ]);
    expect(put.code, put.stderr).toBe(0);
    const [t] = await waitFor("the transfer", async () => {
      const r = await transferOf(name);
      return r.length === 1 && r;
    });
    // The node that logged "processing file" for it is killed a moment later.
    const worker = await waitFor("a node processing it", async () => {
      const i = nodes.findIndex((n) => logged(n, t.id, "processing file"));
      return i >= 0 ? i + 1 : false;
    });
    await sleep(300);
    await nodes[worker - 1]!.stop("SIGKILL");
    nodes[worker - 1] = null;
    const done = await waitFor(
      "another node to finish it",
      async () => {
        const r = (await db.query("SELECT status, rows_ok FROM transfers WHERE id = $1", [t.id])).rows[0];
        return r.status === "processed" && r;
      },
      120_000,
    );
    expect(done.rows_ok).toBe(rows);
    const { rows: sums } = await db.query(
      "SELECT count(*)::int AS n, count(DISTINCT order_id)::int AS orders, sum(round(original_amount * 100))::bigint AS cents FROM actions WHERE transfer_id = $1",
      [t.id],
    );
    expect({ ...sums[0], cents: Number(sums[0].cents) }).toEqual({ n: rows, orders: rows, cents });
    const finisher = nodes.findIndex((n) => logged(n, t.id, "file processed"));
    expect(finisher).toBeGreaterThanOrEqual(0);
    expect(finisher).not.toBe(worker - 1);
  }, 180_000);
});
