/** A Ferry for benchmarks: the built `ferry serve` on the embedded database (or DATABASE_URL), one account,
 * one credential (a public key for SFTP, a password for FTP) and one inbound connection of that method. */

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, readdirSync, readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import pg from "pg";
import { apiCall, startServe } from "../test/helpers/ferry.js";
import { freePort } from "../test/helpers/ports.js";

export interface BenchFerry {
  url: string;
  sftpPort: number;
  ftpPort: number;
  username: string;
  /** For FTP: the generated password. */
  password: string;
  folder: string;
  token: string;
  /** The administrator's token (to make other accounts). */
  admin: string;
  pid: number;
  /** What the process printed so far (e.g. V8's --trace-gc lines, with FERRY_NODE_ARGS). */
  output(): string;
  stop(): Promise<void>;
}

export async function startFerryForBench(
  dir: string,
  publicKey: string,
  extraEnv: Record<string, string> = {},
  method: "sftp" | "ftp" = "sftp",
): Promise<BenchFerry> {
  const admin = `bench_admin_${randomBytes(12).toString("hex")}`;
  const sftpPort = await freePort();
  const ftpPort = await freePort();
  const ferry = await startServe({
    FERRY_DATA_DIR: path.join(dir, "ferry-data"),
    FERRY_HTTP_PORT: String(await freePort()),
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_FTP_PORT: String(ftpPort),
    FERRY_EMBEDDED_PG_PORT: String(await freePort()),
    FERRY_ADMIN_TOKEN: admin,
    FERRY_LOG_LEVEL: "warn",
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...extraEnv,
  });
  const call = (token: string, method: string, url: string, body?: unknown) =>
    apiCall(ferry.url, token, method, url, body);
  const account = await call(admin, "POST", "/api/v1/accounts", {
    name: `Bench ${Date.now()}`,
    type: "brand",
  });
  const token = (await call(admin, "POST", `/api/v1/accounts/${account.id}/tokens`)).token;
  const credential = await call(
    token,
    "POST",
    "/api/v1/credentials",
    method === "sftp"
      ? { name: "bench", kind: "public_key", publicKey }
      : { name: "bench", kind: "password" },
  );
  const connection = await call(token, "POST", "/api/v1/connections", {
    name: "Bench inbox",
    direction: "inbound",
    dataType: "conversions",
    method,
    methodology: "push_to_platform",
    credentialId: credential.id,
  });
  return {
    url: ferry.url,
    sftpPort,
    ftpPort,
    username: credential.username,
    password: credential.password ?? "",
    folder: connection.folder,
    token,
    admin,
    pid: ferry.pid,
    output: () => ferry.output(),
    stop: async () => {
      await ferry.stop();
    },
  };
}

/**
 * CPU seconds (user + system) so far of every live process whose command name is one of `names`, by name; a
 * process listed in `pids` under its own label instead (e.g. each Ferry node apart).
 */
export function cpuOf(names: string[], pids: Record<string, number> = {}): Record<string, number> {
  const labels = new Map(Object.entries(pids).map(([label, pid]) => [String(pid), label]));
  const out: Record<string, number> = {};
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const label = labels.get(pid) ?? (names.includes(comm) ? comm : null);
      if (!label) continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[label] = (out[label] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {}
  }
  return out;
}

/** A process's memory from /proc: resident now and its peak (VmHWM), in bytes. */
export async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Samples a process's resident memory every `everyMs` until stop(); peak() is the most seen so far. */
export function sampleRss(pid: number, everyMs = 100): { peak(): number; stop(): void } {
  let peak = 0;
  const timer = setInterval(() => {
    memoryOf(pid).then(
      (m) => {
        peak = Math.max(peak, m.rss);
      },
      () => {},
    );
  }, everyMs);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

/**
 * The built `ferry serve` on its embedded PostgreSQL (or DATABASE_URL), with an administrator token and a
 * direct client on its database, for benchmarks that set data up or read results with SQL.
 */
export async function startFerryWithDatabase(dir: string, extraEnv: Record<string, string> = {}) {
  const admin = `bench_admin_${Date.now()}_0123456789abcdef`;
  const pgPort = await freePort();
  const dataDir = path.join(dir, "ferry-data");
  const ferry = await startServe({
    FERRY_DATA_DIR: dataDir,
    FERRY_EMBEDDED_PG_PORT: String(pgPort),
    FERRY_ADMIN_TOKEN: admin,
    FERRY_LOG_LEVEL: "warn",
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...extraEnv,
  });
  const password = process.env.DATABASE_URL
    ? ""
    : (await readFile(path.join(dataDir, "postgres.password"), "utf8")).trim();
  const databaseUrl =
    process.env.DATABASE_URL ?? `postgres://ferry:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/ferry`;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  return {
    ferry,
    admin,
    databaseUrl,
    db,
    call: (method: string, url: string, body?: unknown) => apiCall(ferry.url, admin, method, url, body),
  };
}

/** Uploads a file through the API (the same receive as SFTP/FTP), streamed; the new Transfer's id. */
export async function uploadFile(
  url: string,
  token: string,
  connectionId: string,
  file: string,
  name: string,
): Promise<string> {
  const { size } = await stat(file);
  const res = await fetch(
    `${url}/api/v1/connections/${connectionId}/files?name=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/octet-stream",
        "content-length": String(size),
      },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: "half",
    } as RequestInit,
  );
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** A Transfer's states once its processing is over. */
const FINISHED = ["processed", "partial", "rejected", "validated", "failed", "duplicate"];

/** Waits until a Transfer's processing is over (`onTick` between looks); its status. */
export async function waitProcessed(
  db: pg.Client,
  id: string,
  onTick?: () => Promise<void>,
): Promise<string> {
  for (;;) {
    const r = await db.query("SELECT status FROM transfers WHERE id = $1", [id]);
    if (FINISHED.includes(r.rows[0].status)) return r.rows[0].status as string;
    if (onTick) await onTick();
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Seconds from a Transfer's upload close (its commit) to processed. */
export async function processingSeconds(db: pg.Client, id: string): Promise<number> {
  const r = await db.query(
    "SELECT extract(epoch FROM processed_at - created_at) AS s FROM transfers WHERE id = $1",
    [id],
  );
  return Number(r.rows[0].s);
}

/** What bench/sftp-client-worker.ts reports. */
export interface ClientRun {
  ok: number;
  failed: number;
  errors: string[];
  /** Milliseconds per successful session. */
  times: number[];
  wallMs: number;
}

/**
 * Runs bench/sftp-client-worker.ts in its own Node process (so the load is measured apart from Ferry): that many
 * SFTP sessions at once, each a key login and one upload of `bytes` named from file-`first`.
 */
export function runSftpClients(options: {
  port: number;
  username: string;
  key: string;
  folder: string;
  sessions: number;
  bytes: number;
  first?: number;
}): Promise<ClientRun> {
  const worker = spawn(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "sftp-client-worker.ts"), JSON.stringify(options)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  worker.stdout.on("data", (d) => {
    out += d;
  });
  return new Promise((resolve, reject) =>
    worker.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out) as ClientRun)
        : reject(new Error(`client worker exited with ${code}`)),
    ),
  );
}

/** Writes generated lines to `file` (joined 10,000 at a time); returns its size in bytes. */
export async function writeLines(file: string, lines: Iterable<string>): Promise<number> {
  const out = createWriteStream(file);
  let batch: string[] = [];
  for (const line of lines) {
    batch.push(line);
    if (batch.length >= 10_000) {
      if (!out.write(batch.join(""))) await once(out, "drain");
      batch = [];
    }
  }
  out.end(batch.join(""));
  await once(out, "finish");
  return (await stat(file)).size;
}

/**
 * A brand account made through the API as an administrator would: its token, a campaign with a "Sale"
 * tracker paying 8 %, one partner, a key credential for `publicKey`, and a maker of SFTP push connections.
 */
export async function benchAccount(url: string, admin: string, name: string, publicKey: string) {
  const api = (token: string, method: string, path: string, body?: unknown) =>
    apiCall(url, token, method, path, body);
  const acc = await api(admin, "POST", "/api/v1/accounts", { name, type: "brand" });
  const token = (await api(admin, "POST", `/api/v1/accounts/${acc.id}/tokens`, {})).token as string;
  const campaign = await api(token, "POST", "/api/v1/campaigns", { name: "Spring" });
  const tracker = await api(token, "POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
    name: "Sale",
    payout: { type: "percent", value: 8 },
  });
  const partner = await api(token, "POST", "/api/v1/partners", { name: "P" });
  const credential = await api(token, "POST", "/api/v1/credentials", {
    name: "feed",
    kind: "public_key",
    publicKey,
  });
  const connection = (dataType: string, n: string) =>
    api(token, "POST", "/api/v1/connections", {
      name: n,
      direction: "inbound",
      dataType,
      method: "sftp",
      methodology: "push_to_platform",
      credentialId: credential.id,
    });
  return {
    id: acc.id as string,
    token,
    campaign,
    tracker,
    partner,
    username: credential.username as string,
    connection,
  };
}
