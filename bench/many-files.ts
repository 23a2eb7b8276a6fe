/**
 * Many files from many accounts at once, as a shared platform sees them:
 *
 *   --accounts accounts (default 40) each upload --files conversions files (default 5) of --rows rows (default
 *   10,000) over SFTP at once (OpenSSH `sftp`, one session per account putting its files), while one other
 *   account's file of --big-rows rows (default 1,000,000) is being processed.
 *
 * Prints: every file processed exactly once (one Transfer per file, `processed`, its rows as actions once);
 * p50/p99 from upload close to the summary for the small files; total rows/s against the single big file's own
 * rows/s; Ferry's peak RSS. Ferry runs with FERRY_WORKERS=--workers (default 2, the default) and its default
 * per-account limit (one file of an account at a time).
 *
 *   npm run bench:many [-- --accounts 40 --files 5 --rows 10000 --big-rows 1000000 --workers 2]
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { clickId, clickLines, conversionLines } from "../src/demo/samples.js";
import { sshClientOptions } from "../test/helpers/openssh.js";
import { freePort } from "../test/helpers/ports.js";
import { benchAccount, sampleRss, startFerryWithDatabase, writeLines } from "./ferry.js";

const { values } = parseArgs({
  options: {
    accounts: { type: "string", default: "40" },
    files: { type: "string", default: "5" },
    rows: { type: "string", default: "10000" },
    "big-rows": { type: "string", default: "1000000" },
    workers: { type: "string", default: "2" },
  },
});
const ACCOUNTS = Number(values.accounts);
const FILES = Number(values.files);
const ROWS = Number(values.rows);
const BIG_ROWS = Number(values["big-rows"]);
const WORKERS = Number(values.workers);
const CLICKS = 1000;

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-many-"));
  await chmod(dir, 0o755); // the embedded PostgreSQL runs as "postgres" when we are root
  const key = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const publicKey = await readFile(`${key}.pub`, "utf8");
  const sftpPort = await freePort();
  const { ferry, admin, db } = await startFerryWithDatabase(dir, {
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_WORKERS: String(WORKERS),
    FERRY_MAX_UPLOAD_BYTES: String(8 * 1024 ** 3),
  });
  const upload = async (token: string, connectionId: string, file: string, name: string) => {
    const res = await fetch(
      `${ferry.url}/api/v1/connections/${connectionId}/files?name=${encodeURIComponent(name)}`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
        body: await readFile(file),
      },
    );
    if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const waitFor = async (sql: string, params: unknown[], done: (row: any) => boolean) => {
    for (;;) {
      const { rows } = await db.query(sql, params);
      if (done(rows[0])) return rows[0];
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  /** An account with a program, clicks to attribute orders to, and a conversions feed over SFTP. */
  async function account(name: string, clicks: number) {
    const { id, token, campaign, tracker, partner, username, connection } = await benchAccount(
      ferry.url,
      admin,
      name,
      publicKey,
    );
    const feed = await connection("conversions", "Orders");
    const clickFeed = await connection("clicks", "Clicks");
    const clicksFile = path.join(dir, `clicks-${id}.csv`);
    await writeLines(
      clicksFile,
      clickLines({ campaignId: campaign.id, partnerIds: [partner.id], count: clicks, days: 20 }),
    );
    const t = await upload(token, clickFeed.id, clicksFile, "clicks.csv");
    const done = await waitFor("SELECT status FROM transfers WHERE id = $1", [t], (r) =>
      ["processed", "partial", "rejected", "failed"].includes(r.status),
    );
    if (done.status !== "processed") throw new Error(`the clicks file of ${name}: ${done.status}`);
    await rm(clicksFile);
    const orders = (file: string, count: number, prefix: string) =>
      writeLines(
        file,
        conversionLines({
          campaignId: campaign.id,
          trackerId: tracker.id,
          clickIds: (n) => clickId("clk-", n),
          clickCount: clicks,
          count,
          orderPrefix: prefix,
        }),
      );
    return { id, token, feed, username, orders };
  }

  function sftp(username: string, commands: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        "sftp",
        [...sshClientOptions(sftpPort), "-i", key, "-b", "-", `${username}@127.0.0.1`],
        { stdio: ["pipe", "ignore", "inherit"] },
      );
      child.stdin.end(`${commands.join("\n")}\n`);
      child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`sftp exited with ${code}`))));
    });
  }

  try {
    console.log(
      `${ACCOUNTS} accounts with ${FILES} files of ${ROWS} rows each, one account with ${BIG_ROWS} rows...`,
    );
    const big = await account("Big", 100_000);
    const small = [];
    for (let i = 0; i < ACCOUNTS; i++) small.push(await account(`Small ${i + 1}`, CLICKS));
    const files = new Map<string, string[]>();
    for (const a of small) {
      const names: string[] = [];
      for (let f = 0; f < FILES; f++) {
        const file = path.join(dir, `orders-${a.id}-${f}.csv`);
        await a.orders(file, ROWS, `F${f}-`);
        names.push(file);
      }
      files.set(a.id, names);
    }
    const bigFile = path.join(dir, "big.csv");
    await big.orders(bigFile, BIG_ROWS, "BIG-");

    // The single-file figure: the same big file alone first.
    const soloFile = path.join(dir, "solo.csv");
    await big.orders(soloFile, BIG_ROWS, "SOLO-");
    const solo = await upload(big.token, big.feed.id, soloFile, "solo.csv");
    const soloRow = await waitFor(
      "SELECT status, extract(epoch FROM processed_at - created_at) AS s FROM transfers WHERE id = $1",
      [solo],
      (r) => r.status !== "received" && r.status !== "processing",
    );
    const soloRate = BIG_ROWS / Number(soloRow.s);
    console.log(
      `alone: ${BIG_ROWS} rows in ${Number(soloRow.s).toFixed(1)} s, ${Math.round(soloRate)} rows/s`,
    );
    await rm(soloFile);

    const rss = sampleRss(ferry.pid);
    const started = Date.now();
    const bigTransfer = await upload(big.token, big.feed.id, bigFile, "big.csv");
    await waitFor(
      "SELECT status FROM transfers WHERE id = $1",
      [bigTransfer],
      (r) => r.status === "processing",
    );
    const burst = Date.now();
    await Promise.all(
      small.map((a) =>
        sftp(
          a.username,
          files.get(a.id)!.map((f, i) => `put ${f} /${a.feed.folder}/inbox/orders-${i}.csv`),
        ),
      ),
    );
    const uploaded = Date.now();
    const expected = ACCOUNTS * FILES + 1;
    const feeds = [big.feed.id, ...small.map((a) => a.feed.id)];
    await waitFor(
      `SELECT count(*)::int AS done FROM transfers
       WHERE connection_id = ANY($1) AND created_at >= to_timestamp($2 / 1000.0)
         AND status IN ('processed', 'partial', 'rejected', 'failed', 'duplicate')`,
      [feeds, started],
      (r) => r.done >= expected,
    );
    const finished = Date.now();
    rss.stop();

    // Exactly once: one Transfer per file, each processed with all its rows, each row one action.
    const { rows } = await db.query(
      `SELECT t.id, t.account_id, t.file_name, t.status, t.rows_ok,
              extract(epoch FROM r.created_at - t.created_at) * 1000 AS ms,
              extract(epoch FROM t.processed_at - t.processing_started_at) * 1000 AS work_ms,
              (SELECT count(*)::int FROM actions a WHERE a.account_id = t.account_id AND a.transfer_id = t.id) AS actions
       FROM transfers t JOIN result_files r ON r.transfer_id = t.id AND r.kind = 'summary'
       WHERE t.connection_id = ANY($1) AND t.created_at >= to_timestamp($2 / 1000.0)`,
      [feeds, started],
    );
    const problems: string[] = [];
    if (rows.length !== expected) problems.push(`${rows.length} transfers for ${expected} files`);
    const perFile = new Set(rows.map((r) => `${r.account_id}/${r.file_name}`));
    if (perFile.size !== rows.length) problems.push("a file has more than one transfer");
    for (const r of rows) {
      const want = r.id === bigTransfer ? BIG_ROWS : ROWS;
      if (r.status !== "processed" || r.rows_ok !== want || r.actions !== want)
        problems.push(`${r.file_name}: ${r.status}, ${r.rows_ok} rows ok, ${r.actions} actions`);
    }
    const latencies = rows.filter((r) => r.id !== bigTransfer).map((r) => Number(r.ms));
    const bigRow = rows.find((r) => r.id === bigTransfer);
    // Where a small file's time goes: the phases its summary records, median of a sample.
    const phases: Record<string, number[]> = {};
    const tokens = new Map(small.map((a) => [a.id, a.token]));
    for (const r of rows.filter((x) => x.id !== bigTransfer).slice(0, 40)) {
      const res = await fetch(`${ferry.url}/api/v1/transfers/${r.id}/results/summary`, {
        headers: { authorization: `Bearer ${tokens.get(r.account_id)}` },
      });
      const summary = (await res.json()) as { timings?: Record<string, number> };
      for (const [k, v] of Object.entries(summary.timings ?? {})) {
        phases[k] = [...(phases[k] ?? []), v];
      }
    }
    const work = rows.filter((r) => r.id !== bigTransfer).map((r) => Number(r.work_ms));
    const totalRows = ACCOUNTS * FILES * ROWS + BIG_ROWS;
    console.log(
      `exactly once: ${problems.length === 0 ? `yes (${rows.length} files, ${totalRows} actions)` : `NO: ${problems.slice(0, 5).join("; ")}`}`,
    );
    console.log(
      `small files (${latencies.length}): upload close → summary p50 ${(pct(latencies, 50) / 1000).toFixed(1)} s, p99 ${(pct(latencies, 99) / 1000).toFixed(1)} s, max ${(Math.max(...latencies) / 1000).toFixed(1)} s; uploads took ${((uploaded - burst) / 1000).toFixed(1)} s; each took p50 ${Math.round(pct(work, 50))} ms to process (${Object.entries(
        phases,
      )
        .map(([k, v]) => `${k} ${pct(v, 50)}`)
        .join(", ")})`,
    );
    console.log(
      `big file among them: upload close → summary ${(Number(bigRow?.ms) / 1000).toFixed(1)} s (alone: ${Number(soloRow.s).toFixed(1)} s)`,
    );
    const allSeconds = (finished - started) / 1000;
    console.log(
      `all: ${totalRows} rows in ${allSeconds.toFixed(1)} s, ${Math.round(totalRows / allSeconds)} rows/s (${(totalRows / allSeconds / soloRate).toFixed(2)}x the single file alone); Ferry peak RSS ${Math.round(rss.peak() / 1e6)} MB`,
    );
    if (problems.length) process.exitCode = 1;
  } finally {
    await db.end();
    await ferry.stop();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 500 });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
