/**
 * Outbound generation: the Action Listing report over --actions actions (default 10,000,000) generated as a
 * gzip CSV by Ferry ("run now", the job on a worker, into the store), against — in the same run — the same
 * SELECT through `psql -c "COPY (…) TO STDOUT"` piped to `gzip`. Prints both times, the ratio (reference time /
 * Ferry's time, so higher is better; target ≥ 0.8×) and Ferry's peak RSS while generating.
 *
 *   npm run bench:outbound [-- --actions 10000000]
 *
 * The actions are inserted with SQL directly (generate_series): this measures generation, not loading.
 */
import { execSync } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { REPORT_SQL } from "../src/datatypes/reports.js";
import { memoryOf, startFerryWithDatabase } from "./ferry.js";

const { values } = parseArgs({ options: { actions: { type: "string", default: "10000000" } } });
const ACTIONS = Number(values.actions);

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-outbound-"));
  await chmod(dir, 0o755);
  const { ferry, databaseUrl, db, call } = await startFerryWithDatabase(dir);
  try {
    const me = await call("GET", "/api/v1/accounts?limit=1");
    const accountId = me.items[0].id as string;
    const campaign = await call("POST", "/api/v1/campaigns", { name: "Bench" });
    const tracker = await call("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
      name: "Sale",
      payout: { type: "percent", value: 8 },
    });
    const partners: number[] = [];
    for (let i = 0; i < 20; i++)
      partners.push((await call("POST", "/api/v1/partners", { name: `Partner ${i}` })).id);
    const started = Date.now();
    await db.query(
      `INSERT INTO actions (account_id, campaign_id, tracker_id, partner_id, order_id, event_date, click_id, currency,
         original_amount, amount, original_payout, payout, locking_date, transfer_id, line, customer_status)
       SELECT $1, $2, $3, ($4::bigint[])[1 + g % 20], 'ORD-' || g, now() - (g % 864000) * interval '1 second',
         'clk-' || (g % 100000), 'USD', (g % 50000) / 100.0, (g % 50000) / 100.0, (g % 50000) / 1250.0,
         (g % 50000) / 1250.0, now() + interval '30 days', $5, g, CASE WHEN g % 3 = 0 THEN 'NEW' ELSE 'EXISTING' END
       FROM generate_series(1, $6::int) g`,
      [accountId, campaign.id, tracker.id, partners, "00000000-0000-7000-8000-000000000000", ACTIONS],
    );
    await db.query("ANALYZE actions");
    console.log(`loaded ${ACTIONS} actions in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const credential = await call("POST", "/api/v1/credentials", { name: "pull", kind: "password" });
    const connection = await call("POST", "/api/v1/connections", {
      name: "Listing",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId: credential.id,
      details: { report: "action_listing", compression: "gzip" },
    });
    const from = new Date(Date.now() - 30 * 86_400_000);
    const to = new Date(Date.now() + 60_000);

    // Ferry: run now → the worker generates into the store.
    const before = (await memoryOf(ferry.pid)).rss;
    let peak = before;
    const t0 = Date.now();
    const run = await call("POST", `/api/v1/connections/${connection.id}/runs`, {
      from: from.toISOString(),
      to: to.toISOString(),
    });
    for (;;) {
      peak = Math.max(peak, (await memoryOf(ferry.pid)).rss);
      const r = await db.query(
        "SELECT status, rows, finished_at, created_at FROM report_runs WHERE id = $1",
        [run.id],
      );
      if (r.rows[0].status !== "pending") {
        if (r.rows[0].status !== "generated") throw new Error(`run ${r.rows[0].status}`);
        break;
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    const ferrySeconds = (Date.now() - t0) / 1000;
    const size = (
      await db.query(
        "SELECT t.size FROM report_runs r JOIN transfers t ON t.id = r.transfer_id WHERE r.id = $1",
        [run.id],
      )
    ).rows[0].size;

    // Reference: the same SELECT, COPY'd by psql and gzipped by gzip.
    const select = REPORT_SQL.action_listing!({ accountId, from, to, campaignIds: [], partnerIds: [] }, (v) =>
      db.escapeLiteral(v),
    ).replace(/\s+/g, " ");
    const t1 = Date.now();
    execSync(
      `psql "${databaseUrl}" -qc "COPY (${select.replace(/"/g, '\\"')}) TO STDOUT WITH (FORMAT csv, HEADER true)" | gzip > ${path.join(dir, "ref.csv.gz")}`,
      {
        stdio: "inherit",
        shell: "/bin/bash",
      },
    );
    const refSeconds = (Date.now() - t1) / 1000;
    console.log(
      `\nAction Listing, ${ACTIONS} actions, gzip CSV (${(size / 1e6).toFixed(0)} MB): Ferry ${ferrySeconds.toFixed(1)} s, psql COPY | gzip ${refSeconds.toFixed(1)} s, ratio ${(refSeconds / ferrySeconds).toFixed(2)}x; Ferry RSS ${Math.round(before / 1e6)} MB before, peak ${Math.round(peak / 1e6)} MB`,
    );
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
