/**
 * Costs that stay flat as an account's history grows. One account gets a long history bulk-loaded by SQL
 * (default: 1,000,000 transfers over a year on 1,000 connections, each with its receipt and summary file,
 * 10,000,000 actions, 5,000,000 audit events; bytes kept for the last 90 days only, as retention leaves them);
 * another account has the same 1,000 connections and no history. The same everyday operations are then
 * measured on both, in the same run:
 *
 *   - a 1,000-row conversions file over SFTP, upload close → processed (p50, p99 of --files files);
 *   - SFTP login + `ls` of the feed's inbox and results (one sftp session, --reps times);
 *   - API: a page of the feed's history, the connections list (all pages, as the web UI reads it), the 30-day
 *     activity chart, the feed's audit trail (p50, p99 of --reps calls each);
 *   - Ferry's RSS during all of it.
 *
 *   npm run bench:growth [-- --transfers 1000000 --actions 10000000 --audit 5000000 --reps 30 --files 10]
 *
 * The feed (the connection measured) holds --feed-transfers of the transfers (default 1,000: the average of
 * 1,000,000 over 1,000 connections, ~3 files a day for a year; --feed-transfers 20000 for a busy one). Then
 * EXPLAIN ANALYZE of the queries behind these operations on the busy account, and the listing measured again
 * without the partial indexes of visible files (transfers_listed, result_files_listed) for a before/after.
 * Loading the default history takes about 7 minutes and ~7 GB of disk.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { clickId, clickLines, conversionLines } from "../src/demo/samples.js";
import { apiCall } from "../test/helpers/ferry.js";
import { sshClientOptions } from "../test/helpers/openssh.js";
import { freePort } from "../test/helpers/ports.js";
import { benchAccount, sampleRss, startFerryWithDatabase, writeLines } from "./ferry.js";

const { values } = parseArgs({
  options: {
    transfers: { type: "string", default: "1000000" },
    "feed-transfers": { type: "string", default: "1000" },
    actions: { type: "string", default: "10000000" },
    audit: { type: "string", default: "5000000" },
    connections: { type: "string", default: "1000" },
    reps: { type: "string", default: "30" },
    files: { type: "string", default: "10" },
  },
});
const TRANSFERS = Number(values.transfers);
const FEED_TRANSFERS = Number(values["feed-transfers"]);
const ACTIONS = Number(values.actions);
const AUDIT = Number(values.audit);
const CONNECTIONS = Number(values.connections);
const REPS = Number(values.reps);
const FILES = Number(values.files);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-growth-"));
  await chmod(dir, 0o755); // the embedded PostgreSQL runs as "postgres" when we are root
  const key = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const publicKey = await readFile(`${key}.pub`, "utf8");
  const sftpPort = await freePort();
  const { ferry, admin, db } = await startFerryWithDatabase(dir, { FERRY_SFTP_PORT: String(sftpPort) });
  const rss = sampleRss(ferry.pid);
  const api = (token: string, method: string, url: string, body?: unknown) =>
    apiCall(ferry.url, token, method, url, body);

  /** An account with a program, clicks to attribute orders to, the feed and CONNECTIONS - 1 more. */
  async function account(name: string) {
    const { id, token, campaign, tracker, partner, username, connection } = await benchAccount(
      ferry.url,
      admin,
      name,
      publicKey,
    );
    const feed = await connection("conversions", "Orders");
    const clicks = await connection("clicks", "Clicks");
    // The other connections, by SQL (copies of the clicks connection).
    await db.query(
      `INSERT INTO connections (id, account_id, name, direction, data_type, method, methodology, credential_id, folder, details)
       SELECT gen_random_uuid(), account_id, 'Feed ' || i, direction, data_type, method, methodology, credential_id,
              'feed-' || i, details
       FROM connections, generate_series(1, $2) i WHERE id = $1`,
      [clicks.id, CONNECTIONS - 2],
    );
    const clicksFile = path.join(dir, `clicks-${id}.csv`);
    await writeLines(
      clicksFile,
      clickLines({ campaignId: campaign.id, partnerIds: [partner.id], count: 1000, days: 20 }),
    );
    await sftp(username, [`put ${clicksFile} /${clicks.folder}/inbox/clicks.csv`]);
    for (;;) {
      const { rows } = await db.query("SELECT status FROM transfers WHERE connection_id = $1", [clicks.id]);
      if (rows[0]?.status === "processed") break;
      if (rows[0]?.status === "failed") throw new Error("the clicks file failed");
      await new Promise((r) => setTimeout(r, 50));
    }
    return { id, token, campaign, tracker, feed, username };
  }

  function sftp(username: string, commands: string[]): Promise<number> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(
        "sftp",
        [...sshClientOptions(sftpPort), "-i", key, "-b", "-", `${username}@127.0.0.1`],
        { stdio: ["pipe", "ignore", "inherit"] },
      );
      child.stdin.end(`${commands.join("\n")}\n`);
      child.once("exit", (code) =>
        code === 0 ? resolve(performance.now() - started) : reject(new Error(`sftp exited with ${code}`)),
      );
    });
  }

  try {
    console.log(`accounts and ${CONNECTIONS} connections each...`);
    const empty = await account("Empty");
    const busy = await account("Busy");

    console.log(
      `loading the busy account's history: ${TRANSFERS} transfers (+ receipts and summaries), ${ACTIONS} actions, ${AUDIT} audit events...`,
    );
    const loadStarted = Date.now();
    // Bulk load: no per-row triggers or foreign key checks (session_replication_role), counters computed after.
    await db.query("SET session_replication_role = replica");
    // Ferry's ids are UUIDv7 (time-ordered, as src/db/ids.ts makes them): history rows get ids of their time.
    await db.query(
      `CREATE FUNCTION pg_temp.v7(at timestamptz) RETURNS uuid LANGUAGE sql AS $$
         SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7'
                 || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid $$`,
    );
    await db.query(
      `CREATE TEMP TABLE bench_connections AS
       SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM connections WHERE account_id = $1 AND id <> $2`,
      [busy.id, busy.feed.id],
    );
    // The feed gets FEED_TRANSFERS, the others the rest; spread over the last year, one a minute apart at most.
    await db.query(
      `INSERT INTO transfers (id, account_id, connection_id, direction, file_name, store_key, size, sha256, status,
                              protocol, rows_total, rows_ok, rows_error, processed_at, created_at, updated_at)
       SELECT pg_temp.v7(at), $1, CASE WHEN i % ($4 / $3) = 0 THEN $2::uuid ELSE c.id END, 'inbound',
              'orders-' || i || '.csv',
              CASE WHEN at > now() - interval '90 days' THEN 'bench-' || i END,
              100000, repeat('0', 64), 'processed', 'sftp', 10, 10, 0, at, at, at
       FROM (SELECT i, now() - interval '365 days' * (1 - i::float8 / $4) AS at FROM generate_series(1, $4) i) g
       LEFT JOIN bench_connections c ON c.n = i % (SELECT count(*) FROM bench_connections)`,
      [busy.id, busy.feed.id, FEED_TRANSFERS, TRANSFERS],
    );
    await db.query(
      `INSERT INTO result_files (id, account_id, connection_id, transfer_id, kind, file_name, store_key, size, created_at)
       SELECT pg_temp.v7(t.created_at), t.account_id, t.connection_id, t.id, k.kind, k.kind || '_' || t.file_name,
              CASE WHEN t.store_key IS NOT NULL THEN t.store_key || k.kind END, 500, t.created_at
       FROM transfers t, (VALUES ('receipt'), ('summary')) k(kind)
       WHERE t.account_id = $1 AND t.file_name LIKE 'orders-%'`,
      [busy.id],
    );
    // ACTIONS / TRANSFERS actions per transfer (its lines), as its processing would have made them.
    await db.query(
      `INSERT INTO actions (account_id, campaign_id, tracker_id, partner_id, order_id, event_date, currency,
                            original_amount, amount, original_payout, payout, state, locking_date, transfer_id,
                            line, created_at, updated_at)
       SELECT $1, $2, $3, $4, t.id || '-' || j, t.created_at, 'USD', 100, 100, 8, 8, 'APPROVED', t.created_at,
              t.id, j + 1, t.created_at, t.created_at
       FROM transfers t, generate_series(1, $5) j WHERE t.account_id = $1 AND t.file_name LIKE 'orders-%'`,
      [busy.id, busy.campaign.id, busy.tracker.id, await partnerOf(busy), Math.round(ACTIONS / TRANSFERS)],
    );
    await db.query(
      `INSERT INTO audit_events (id, account_id, actor_type, actor_id, action, object_type, object_id, details, at)
       SELECT pg_temp.v7(at), $1, 'credential', NULL,
              (ARRAY['login.succeeded', 'transfer.downloaded', 'connection.updated'])[1 + i % 3],
              'connection', CASE WHEN i % 50 = 0 THEN $2::uuid ELSE c.id END, '{}'::jsonb, at
       FROM (SELECT i, now() - interval '364 days' * (1 - i::float8 / $3) AS at FROM generate_series(1, $3) i) g
       LEFT JOIN bench_connections c ON c.n = i % (SELECT count(*) FROM bench_connections)`,
      [busy.id, busy.feed.id, AUDIT],
    );
    await db.query("SET session_replication_role = DEFAULT");
    await db.query(
      `INSERT INTO storage_use (account_id, connection_id, kind, files, bytes)
       SELECT account_id, connection_id, 'inbound', count(*), sum(size) FROM transfers
       WHERE account_id = $1 AND store_key IS NOT NULL GROUP BY account_id, connection_id
       ON CONFLICT (connection_id, kind) DO UPDATE SET files = storage_use.files + excluded.files,
                                                       bytes = storage_use.bytes + excluded.bytes`,
      [busy.id],
    );
    await db.query(
      `INSERT INTO storage_use (account_id, connection_id, kind, files, bytes)
       SELECT account_id, connection_id, 'results', count(*), sum(size) FROM result_files
       WHERE account_id = $1 AND store_key IS NOT NULL GROUP BY account_id, connection_id
       ON CONFLICT (connection_id, kind) DO UPDATE SET files = storage_use.files + excluded.files,
                                                       bytes = storage_use.bytes + excluded.bytes`,
      [busy.id],
    );
    await db.query("VACUUM ANALYZE");
    const size = (await db.query("SELECT pg_size_pretty(pg_database_size(current_database())) AS s")).rows[0]
      .s;
    console.log(`loaded in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s; database ${size}`);

    const results: Record<string, Record<string, number[]>> = {};
    const record = (who: string, what: string, ms: number) => {
      const byWho = results[what] ?? {};
      byWho[who] = [...(byWho[who] ?? []), ms];
      results[what] = byWho;
    };
    const timed = async (who: string, what: string, work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      record(who, what, performance.now() - started);
    };

    for (const [who, a] of [
      ["empty", empty],
      ["busy", busy],
    ] as const) {
      console.log(`measuring the ${who} account...`);
      // Files: upload close → processed.
      for (let i = 0; i < FILES; i++) {
        const file = path.join(dir, `${who}-${i}.csv`);
        await writeLines(
          file,
          conversionLines({
            campaignId: a.campaign.id,
            trackerId: a.tracker.id,
            clickIds: (n) => clickId("clk-", n),
            clickCount: 1000,
            count: 1000,
            orderPrefix: `${who}-${i}-`,
            seed: i + 1,
          }),
        );
        await sftp(a.username, [`put ${file} /${a.feed.folder}/inbox/new-${i}.csv`]);
        for (;;) {
          const { rows } = await db.query(
            `SELECT status, rows_ok, extract(epoch FROM processed_at - created_at) * 1000 AS ms
             FROM transfers WHERE connection_id = $1 AND file_name = $2`,
            [a.feed.id, `new-${i}.csv`],
          );
          if (rows[0]?.status === "processed" || rows[0]?.status === "failed") {
            if (rows[0].rows_ok !== 1000) throw new Error(`${who} file ${i}: ${JSON.stringify(rows[0])}`);
            record(who, "1,000-row file: close → processed", Number(rows[0].ms));
            break;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        await rm(file);
      }
      for (let r = 0; r < REPS; r++) {
        record(
          who,
          "SFTP login + ls inbox + ls results",
          await sftp(a.username, [`ls -1 /${a.feed.folder}/inbox`, `ls -1 /${a.feed.folder}/results`]),
        );
        await timed(who, "API: history page (50)", () =>
          api(a.token, "GET", `/api/v1/connections/${a.feed.id}/transfers?order=desc&limit=50`),
        );
        await timed(who, `API: connections list (${CONNECTIONS}, all pages)`, async () => {
          let cursor: string | null = null;
          do {
            const page: { nextCursor: string | null } = await api(
              a.token,
              "GET",
              `/api/v1/connections?limit=200${cursor ? `&cursor=${cursor}` : ""}`,
            );
            cursor = page.nextCursor;
          } while (cursor);
        });
        await timed(who, "API: 30-day activity chart", () =>
          api(a.token, "GET", `/api/v1/connections/${a.feed.id}/activity?days=30`),
        );
        await timed(who, "API: connection audit trail", () =>
          api(a.token, "GET", `/api/v1/connections/${a.feed.id}/audit`),
        );
        await timed(who, "API: account", () => api(a.token, "GET", `/api/v1/accounts/${a.id}`));
      }
    }

    // EXPLAIN ANALYZE of the queries behind the operations (as the code writes them), on the busy feed.
    const explain = async (label: string, query: string, params: unknown[]) => {
      // Median execution time of 15 runs (the first ones warm the cache), then the plan's main nodes.
      const times: number[] = [];
      let plan: string[] = [];
      for (let i = 0; i < 15; i++) {
        const { rows } = await db.query(`EXPLAIN (ANALYZE, BUFFERS) ${query}`, params);
        plan = rows.map((r) => r["QUERY PLAN"] as string);
        times.push(Number(/Execution Time: ([\d.]+)/.exec(plan.join("\n"))?.[1]));
      }
      const time = `median execution ${pct(times, 50).toFixed(3)} ms`;
      const nodes = plan.filter((l) => /(Scan|Sort|Join|Aggregate|Unique|Limit)/.test(l)).slice(0, 4);
      console.log(`  ${label}: ${time}\n${nodes.map((n) => `      ${n.trim().slice(0, 150)}`).join("\n")}`);
    };
    const listingQueries = async () => {
      await explain(
        "inbox page (500)",
        `SELECT * FROM ((SELECT DISTINCT ON (file_name) id, file_name AS name, size, store_key, false AS staged
           FROM transfers WHERE account_id = $1 AND connection_id = $2 AND direction = 'inbound'
             AND hidden_at IS NULL AND store_key IS NOT NULL ORDER BY file_name, id DESC LIMIT 500)
         UNION ALL (SELECT id, file_name, size, store_key, true FROM staged_files
           WHERE account_id = $1 AND connection_id = $2 ORDER BY file_name LIMIT 500)) f
         ORDER BY name, staged DESC LIMIT 500`,
        [busy.id, busy.feed.id],
      );
      await explain(
        "results page (500)",
        `SELECT DISTINCT ON (file_name) id, file_name, size, created_at, store_key FROM result_files
         WHERE account_id = $1 AND connection_id = $2 AND store_key IS NOT NULL ORDER BY file_name, id DESC LIMIT 500`,
        [busy.id, busy.feed.id],
      );
    };
    console.log("\nEXPLAIN ANALYZE on the busy account (its feed):");
    await listingQueries();
    await explain(
      "history page (50, newest first)",
      "SELECT * FROM transfers WHERE account_id = $1 AND connection_id = $2 ORDER BY id DESC LIMIT 51",
      [busy.id, busy.feed.id],
    );
    await explain(
      "audit trail page (50)",
      `SELECT * FROM audit_events WHERE account_id = $1 AND object_type = 'connection' AND object_id = $2
       ORDER BY id LIMIT 51`,
      [busy.id, busy.feed.id],
    );
    await explain(
      "storage used (quota check at each upload)",
      `SELECT coalesce(sum(bytes), 0) FROM storage_use WHERE account_id = $1 AND kind IN ('inbound', 'staged')`,
      [busy.id],
    );
    await explain(
      "storage used, as summed before storage_use",
      `SELECT coalesce((SELECT sum(size) FROM transfers WHERE account_id = $1 AND direction = 'inbound'
         AND store_key IS NOT NULL), 0) + coalesce((SELECT sum(size) FROM staged_files WHERE account_id = $1), 0)`,
      [busy.id],
    );
    // Before: the listing without the partial indexes of visible files.
    await db.query("DROP INDEX transfers_listed; DROP INDEX result_files_listed");
    console.log("without transfers_listed / result_files_listed:");
    await listingQueries();
    for (let r = 0; r < REPS; r++) {
      record(
        "busy",
        "  (same, without the listing indexes)",
        await sftp(busy.username, [`ls -1 /${busy.feed.folder}/inbox`, `ls -1 /${busy.feed.folder}/results`]),
      );
    }
    await db.query(
      `CREATE INDEX transfers_listed ON transfers (connection_id, file_name, id DESC)
         WHERE store_key IS NOT NULL AND hidden_at IS NULL;
       CREATE INDEX result_files_listed ON result_files (connection_id, file_name, id DESC) WHERE store_key IS NOT NULL`,
    );
    const visible = await db.query(
      `SELECT (SELECT count(*) FROM transfers WHERE connection_id = $1 AND store_key IS NOT NULL) AS inbox,
              (SELECT count(*) FROM result_files WHERE connection_id = $1 AND store_key IS NOT NULL) AS results`,
      [busy.feed.id],
    );
    console.log(
      `the busy feed lists ${visible.rows[0].inbox} files in inbox/ and ${visible.rows[0].results} in results/ (the empty account's: ${FILES} and ${FILES * 2})`,
    );

    console.log(
      `\nGrowth: ${TRANSFERS} transfers, ${ACTIONS} actions, ${AUDIT} audit events in the busy account (feed: ${FEED_TRANSFERS} transfers); ms`,
    );
    console.log(
      `${"operation".padEnd(44)} ${"empty p50".padStart(10)} ${"p99".padStart(8)} ${"busy p50".padStart(10)} ${"p99".padStart(8)}  p99 ratio`,
    );
    const cell = (xs: number[], p: number) => (xs.length ? pct(xs, p).toFixed(1) : "—");
    for (const [what, by] of Object.entries(results)) {
      const e = by.empty ?? [];
      const b = by.busy ?? [];
      const ratio = e.length ? `${(pct(b, 99) / pct(e, 99)).toFixed(2)}x` : "";
      console.log(
        `${what.padEnd(44)} ${cell(e, 50).padStart(10)} ${cell(e, 99).padStart(8)} ${cell(b, 50).padStart(10)} ${cell(b, 99).padStart(8)}  ${ratio}`,
      );
    }
    console.log(`Ferry RSS peak ${(rss.peak() / 1024 / 1024).toFixed(0)} MiB`);
  } finally {
    rss.stop();
    await db.end();
    await ferry.stop();
    await rm(dir, { recursive: true, force: true });
  }

  async function partnerOf(a: { id: string }): Promise<number> {
    const { rows } = await db.query("SELECT id FROM partners WHERE account_id = $1 LIMIT 1", [a.id]);
    return Number(rows[0].id);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
