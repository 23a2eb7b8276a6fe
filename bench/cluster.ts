/**
 * Scale-out: three `ferry serve` nodes behind HAProxy (TCP mode, PROXY protocol; test/helpers/haproxy.ts, the
 * configuration of docs/deploy.md) on one PostgreSQL and one S3 bucket (a real Ceph RADOS Gateway) take N
 * concurrent SFTP sessions at once (default 3,000), each a key login and one small upload. Reports how many
 * succeeded and were recorded exactly once, p50/p99 per session, sessions and peak memory per node.
 *
 *   npm run bench:cluster [-- --sessions 3000 --bytes 4096 --clients 3]
 *
 * PostgreSQL: DATABASE_URL when set (a new database is made on that server), else node 1's embedded one,
 * which the other nodes reach over TCP. Needs haproxy and the Ceph packages (scripts/install-test-tools.sh).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { apiCall, type RunningFerry, startServe } from "../test/helpers/ferry.js";
import { type BalancedNode, nodeEnv, planCluster, startHaproxy } from "../test/helpers/haproxy.js";
import { freePort } from "../test/helpers/ports.js";
import { startS3 } from "../test/helpers/s3.js";
import { cpuOf, memoryOf, runSftpClients } from "./ferry.js";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "3000" },
    bytes: { type: "string", default: "4096" },
    clients: { type: "string", default: "3" },
  },
});
const SESSIONS = Number(values.sessions);
const CLIENT_PROCESSES = Number(values.clients);

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-cluster-"));
  await chmod(dir, 0o755); // the embedded PostgreSQL runs as "postgres" when we are root
  const key = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const publicKey = await readFile(`${key}.pub`, "utf8");
  console.log("starting a Ceph RADOS Gateway, three nodes and HAProxy...");
  const s3 = await startS3();
  const admin = `bench_admin_${randomBytes(12).toString("hex")}`;
  const masterKey = randomBytes(32).toString("base64");
  const { front, nodes: specs } = await planCluster(3, { maxconn: SESSIONS * 2 + 100 });
  let databaseUrl = process.env.DATABASE_URL;
  let dropDatabase = async () => {};
  if (databaseUrl) {
    const name = `ferry_bench_${randomBytes(4).toString("hex")}`;
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const server = databaseUrl;
    const url = new URL(databaseUrl);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const d = new pg.Client({ connectionString: server });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    };
  }
  const pgPort = await freePort();
  const env = (spec: BalancedNode): Record<string, string> => ({
    ...s3.env,
    ...nodeEnv(front, spec),
    FERRY_MASTER_KEY: masterKey,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    FERRY_EMBEDDED_PG_PORT: String(pgPort),
    FERRY_DATA_DIR: path.join(dir, spec.name),
    FERRY_ADMIN_TOKEN: admin,
    FERRY_LOG_LEVEL: "warn",
    FERRY_MAX_SESSIONS_PER_CREDENTIAL: String(SESSIONS * 2),
    FERRY_LOGIN_MAX_FAILURES: String(SESSIONS * 2),
    // Every client comes from one address here: this measures sessions, not the per-address caps.
    FERRY_PREAUTH_PER_IP: String(SESSIONS * 2),
    FERRY_PREAUTH_TOTAL: String(SESSIONS * 2),
  });
  const nodes: RunningFerry[] = [];
  let balancer: Awaited<ReturnType<typeof startHaproxy>> | undefined;
  try {
    nodes.push(await startServe(env(specs[0]!)));
    if (!databaseUrl) {
      // Node 1's embedded PostgreSQL, for the other two.
      const password = (await readFile(path.join(dir, "node1", "postgres-app.password"), "utf8")).trim();
      databaseUrl = `postgres://ferry_app:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/ferry`;
    }
    for (const i of [2, 3])
      nodes.push(await startServe({ ...env(specs[i - 1]!), DATABASE_URL: databaseUrl }));
    balancer = await startHaproxy(dir, front, specs);
    const url = `http://127.0.0.1:${front.http}`;
    const account = await apiCall(url, admin, "POST", "/api/v1/accounts", { name: "Bench", type: "brand" });
    const token = (await apiCall(url, admin, "POST", `/api/v1/accounts/${account.id}/tokens`)).token;
    const credential = await apiCall(url, token, "POST", "/api/v1/credentials", {
      name: "bench",
      kind: "public_key",
      publicKey,
    });
    const connection = await apiCall(url, token, "POST", "/api/v1/connections", {
      name: "Bench inbox",
      direction: "inbound",
      dataType: "clicks",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId: credential.id,
    });
    const idle = await Promise.all(nodes.map((n) => memoryOf(n.pid)));
    const peak = idle.map((m) => m.rss);
    const sampler = setInterval(() => {
      nodes.forEach((n, i) => {
        memoryOf(n.pid).then(
          (m) => {
            peak[i] = Math.max(peak[i]!, m.rss);
          },
          () => {},
        );
      });
    }, 50);
    console.log(`${SESSIONS} sessions at once through HAProxy...`);
    const watched = ["radosgw", "ceph-osd", "haproxy", "postgres", "node"];
    const byNode = Object.fromEntries(specs.map((s, i) => [s.name, nodes[i]!.pid]));
    const cpuBefore = cpuOf(watched, byNode);
    const per = Math.ceil(SESSIONS / CLIENT_PROCESSES);
    const runs = Array.from({ length: CLIENT_PROCESSES }, (_, w) =>
      runSftpClients({
        port: front.sftp,
        username: credential.username,
        key,
        folder: connection.folder,
        sessions: Math.min(per, SESSIONS - w * per),
        first: w * per,
        bytes: Number(values.bytes),
      }),
    );
    const results = await Promise.all(runs);
    clearInterval(sampler);
    const cpuAfter = cpuOf(watched, byNode);
    const hwm = await Promise.all(nodes.map((n) => memoryOf(n.pid)));
    const times = results.flatMap((r) => r.times).sort((a, b) => a - b);
    const pct = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? NaN;
    const ok = results.reduce((s, r) => s + r.ok, 0);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const { rows } = await db.query(
      "SELECT count(*)::int AS n, count(DISTINCT file_name)::int AS names FROM transfers WHERE connection_id = $1",
      [connection.id],
    );
    await db.end();
    const perNode = await balancer.sessions("sftp_nodes");
    const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
    console.log(
      `\n${SESSIONS} concurrent SFTP sessions (key login + ${values.bytes}-byte upload each) through HAProxy to 3 nodes (S3 store):`,
    );
    console.log(
      `  succeeded ${ok}, failed ${failed}; transfers recorded ${rows[0].n} (${rows[0].names} distinct files); wall time ${(Math.max(...results.map((r) => r.wallMs)) / 1000).toFixed(1)} s`,
    );
    console.log(
      `  per session: p50 ${pct(50).toFixed(0)} ms, p99 ${pct(99).toFixed(0)} ms, max ${times.at(-1)?.toFixed(0)} ms`,
    );
    specs.forEach((s, i) => {
      console.log(
        `  ${s.name}: ${perNode[s.name]} sessions; RSS idle ${mib(idle[i]!.rss)} MiB, peak ${mib(Math.max(peak[i]!, hwm[i]!.hwm))} MiB`,
      );
    });
    const spent = Object.entries(cpuAfter)
      .map(([k, v]) => [k === "node" ? "clients" : k, v - (cpuBefore[k] ?? 0)] as const)
      .filter(([, v]) => v > 0.05)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`);
    console.log(`  CPU seconds during the run: ${spent.join(", ")}`);
    const errors = results.flatMap((r) => r.errors);
    if (errors.length) console.log(`  first errors: ${errors.slice(0, 5).join("; ")}`);
  } finally {
    await balancer?.stop();
    for (const n of nodes.reverse()) await n.stop();
    await s3.stop();
    await dropDatabase();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
