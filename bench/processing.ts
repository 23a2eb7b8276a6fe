/**
 * Inbound processing, measured against PostgreSQL's own bulk load in the same run:
 *
 *   1. Throughput: an order-level conversions CSV of --rows rows (default 1,000,000) whose click ids all
 *      match, from upload close (the Transfer's commit) to `processed`, in rows/s — against the database's own
 *      ceiling: COPY of the same conversions as Ferry stored them (enriched) into a fresh table made
 *      `LIKE actions INCLUDING ALL` (same keys and indexes), in one transaction. Also printed: `psql \copy` of
 *      the raw CSV into a plain table (no keys). Median of --runs runs each; prints the ratios.
 *      Then once each: an item-level file of --rows lines (orders of 3 items) against COPY of its enriched
 *      actions and items into twins of both tables; and --rows action modifications of the first run's orders
 *      against an UPDATE … FROM of the same changes.
 *   2. Latency: --files files (default 50) of 1,000 rows, one after another: upload close → summary
 *      available; p50 and p99.
 *   3. Memory: Ferry's peak RSS (sampled every 50 ms) while it processes a product catalog of --catalog-mb MiB
 *      (default 2048).
 *
 *   npm run bench:processing [-- --rows 1000000 --runs 3 --files 50 --catalog-mb 2048]
 *
 * Ferry runs as `ferry serve` on its embedded PostgreSQL (or DATABASE_URL); files go in through the API
 * upload, which is the same receive as SFTP/FTP. Needs psql (postgresql-client).
 */
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import {
  catalogCsvLines,
  clickId,
  clickLines,
  conversionLines,
  itemLines,
  modificationLines,
} from "../src/demo/samples.js";
import {
  memoryOf,
  processingSeconds,
  startFerryWithDatabase,
  uploadFile,
  waitProcessed,
  writeLines,
} from "./ferry.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
    files: { type: "string", default: "50" },
    clicks: { type: "string", default: "100000" },
    "catalog-mb": { type: "string", default: "2048" },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const FILES = Number(values.files);
const CLICKS = Number(values.clicks);
const CATALOG_MB = Number(values["catalog-mb"]);

/** The columns Ferry's insert into `actions` gives (the rest are defaults). */
const ACTION_COLUMNS =
  "account_id, campaign_id, tracker_id, partner_id, order_id, event_date, click_id, promo_code, ad_id, customer_id, customer_status, currency, original_amount, amount, order_discount, order_shipping, order_tax, original_payout, payout, locking_date, transfer_id, line";

const ITEM_COLUMNS = "account_id, action_id, position, sku, name, category, quantity, item_price, amount";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

/**
 * The database's own ceiling for rows Ferry stored: each `select` exported with `psql \copy`, then timed —
 * fresh tables `LIKE <table> INCLUDING ALL` (same keys and indexes, no foreign keys) created and the rows
 * COPYed into them, in one transaction. Returns the seconds; the twins and exports are removed.
 */
async function copyIntoTwins(
  databaseUrl: string,
  dir: string,
  twins: { table: string; columns: string; select: string }[],
): Promise<number> {
  const files = twins.map((t) => path.join(dir, `twin-${t.table}.tsv`));
  psql(databaseUrl, ...twins.map((t, i) => `\\copy (${t.select}) TO '${files[i]}'`));
  const drop = twins.map((t) => `DROP TABLE IF EXISTS bench_${t.table}`);
  psql(databaseUrl, ...drop);
  const seconds = timedPsql(
    databaseUrl,
    ...twins.map((t) => `CREATE TABLE bench_${t.table} (LIKE ${t.table} INCLUDING ALL)`),
    ...twins.map((t, i) => `\\copy bench_${t.table} (${t.columns}) FROM '${files[i]}'`),
  );
  psql(databaseUrl, ...drop);
  for (const f of files) await rm(f);
  return seconds;
}

/** The twin of `actions` for the actions a transfer created, in file order. */
const actionsTwin = (transferId: string) => ({
  table: "actions",
  columns: ACTION_COLUMNS,
  select: `SELECT ${ACTION_COLUMNS} FROM actions WHERE transfer_id = '${transferId}' ORDER BY line`,
});

/** Runs psql commands in one transaction (notices off). */
function psql(databaseUrl: string, ...commands: string[]): void {
  execFileSync("psql", [
    databaseUrl,
    "-q1",
    "-c",
    "SET client_min_messages = warning",
    ...commands.flatMap((c) => ["-c", c]),
  ]);
}

/** psql's commands in one transaction, timed: seconds. */
function timedPsql(databaseUrl: string, ...commands: string[]): number {
  const started = process.hrtime.bigint();
  psql(databaseUrl, ...commands);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-processing-"));
  await chmod(dir, 0o755);
  const { ferry, admin, databaseUrl, db, call } = await startFerryWithDatabase(dir, {
    FERRY_MAX_UPLOAD_BYTES: String(8 * 1024 ** 3),
    ...(process.env.FERRY_BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.FERRY_BENCH_NODE_OPTIONS } : {}),
  });
  const upload = async (connectionId: string, file: string, name: string) => ({
    id: await uploadFile(ferry.url, admin, connectionId, file, name),
  });
  const waitDone = (id: string, onTick?: () => Promise<void>) => waitProcessed(db, id, onTick);
  const seconds = (id: string) => processingSeconds(db, id);

  try {
    const campaign = await call("POST", "/api/v1/campaigns", { name: "Bench" });
    const tracker = await call("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
      name: "Sale",
      payout: { type: "percent", value: 8 },
    });
    const partners: number[] = [];
    for (let i = 0; i < 10; i++)
      partners.push((await call("POST", "/api/v1/partners", { name: `P${i}` })).id);
    const credential = await call("POST", "/api/v1/credentials", { name: "bench", kind: "password" });
    const connection = async (dataType: string) =>
      (
        await call("POST", "/api/v1/connections", {
          name: `Bench ${dataType}`,
          direction: "inbound",
          dataType,
          method: "sftp",
          methodology: "push_to_platform",
          credentialId: credential.id,
        })
      ).id as string;
    const conversions = await connection("conversions");
    const clicks = await connection("clicks");
    const catalog = await connection("product_catalog");
    const modifications = await connection("action_modifications");

    const clicksFile = path.join(dir, "clicks.csv");
    await writeLines(
      clicksFile,
      clickLines({ campaignId: campaign.id, partnerIds: partners, count: CLICKS, days: 20 }),
    );
    const c = await upload(clicks, clicksFile, "clicks.csv");
    await waitDone(c.id);
    console.log(`clicks: ${CLICKS} rows in ${(await seconds(c.id)).toFixed(2)} s`);

    /** The processing phases a transfer's summary records (ms). */
    const phases = async (id: string) =>
      (
        (await (
          await fetch(`${ferry.url}/api/v1/transfers/${id}/results/summary`, {
            headers: { authorization: `Bearer ${admin}` },
          })
        ).json()) as { timings?: Record<string, number> }
      ).timings;

    // 1. Throughput (--runs 0: skipped, and the modifications of its orders with it).
    const ours: number[] = [];
    const reference: number[] = [];
    const raw: number[] = [];
    let bytes = 0;
    for (let run = 0; run < RUNS; run++) {
      const file = path.join(dir, `conversions-${run}.csv`);
      bytes = await writeLines(
        file,
        conversionLines({
          campaignId: campaign.id,
          trackerId: tracker.id,
          clickIds: (n) => clickId("clk-", n),
          clickCount: CLICKS,
          count: ROWS,
          orderPrefix: `R${run}-`,
          seed: run + 1,
        }),
      );
      const t = await upload(conversions, file, `conversions-${run}.csv`);
      const status = await waitDone(t.id);
      if (status !== "processed") throw new Error(`run ${run}: ${status}`);
      const s = await seconds(t.id);
      const rows = (await db.query("SELECT rows_ok FROM transfers WHERE id = $1", [t.id])).rows[0].rows_ok;
      if (rows !== ROWS) throw new Error(`run ${run}: ${rows} rows ok of ${ROWS}`);
      ours.push(ROWS / s);
      // Raw reference: the CSV as it is into a plain table with its columns (no keys, no indexes).
      await db.query(
        "CREATE TABLE IF NOT EXISTS bench_copy (campaign_id bigint, tracker_id bigint, event_date timestamptz, order_id text, click_id text, promo_code text, amount numeric(14,2), currency text, customer_id text, customer_status text)",
      );
      await db.query("TRUNCATE bench_copy");
      raw.push(
        ROWS / timedPsql(databaseUrl, `\\copy bench_copy FROM '${file}' WITH (FORMAT csv, HEADER true)`),
      );
      // Fair reference: the same conversions as Ferry stored them (enriched: the columns its insert gives),
      // COPYed into a fresh table with the keys and indexes of `actions`, in one transaction.
      reference.push(ROWS / (await copyIntoTwins(databaseUrl, dir, [actionsTwin(t.id)])));
      console.log(`  phases: ${JSON.stringify(await phases(t.id))}`);
      console.log(
        `run ${run + 1}: Ferry ${Math.round(ours[run]!)} rows/s (${s.toFixed(2)} s), COPY into actions' twin ${Math.round(reference[run]!)} rows/s, raw psql \\copy ${Math.round(raw[run]!)} rows/s`,
      );
      await rm(file);
    }
    await db.query("DROP TABLE IF EXISTS bench_copy");
    if (RUNS > 0)
      console.log(
        `\nthroughput (${ROWS} rows, ${(bytes / 1e6).toFixed(0)} MB, median of ${RUNS}): Ferry ${Math.round(median(ours))} rows/s; COPY of the enriched rows into a twin of actions ${Math.round(median(reference))} rows/s, ratio ${(median(ours) / median(reference)).toFixed(2)}x; raw psql \\copy ${Math.round(median(raw))} rows/s, ratio ${(median(ours) / median(raw)).toFixed(2)}x`,
      );

    // 1b. Item level: orders of three items, ROWS lines; the reference COPYs the enriched actions and items.
    {
      const file = path.join(dir, "items.csv");
      await writeLines(
        file,
        itemLines({
          campaignId: campaign.id,
          trackerId: tracker.id,
          clickIds: (n) => clickId("clk-", n),
          clickCount: CLICKS,
          count: Math.floor(ROWS / 3),
          itemsPerOrder: 3,
          orderPrefix: "I-",
          seed: 7,
        }),
      );
      const t = await upload(conversions, file, "items.csv");
      if ((await waitDone(t.id)) !== "processed") throw new Error("item-level file not processed");
      const ferryRate = ROWS / (await seconds(t.id));
      console.log(`  phases: ${JSON.stringify(await phases(t.id))}`);
      const referenceRate =
        ROWS /
        (await copyIntoTwins(databaseUrl, dir, [
          actionsTwin(t.id),
          {
            table: "action_items",
            columns: ITEM_COLUMNS,
            select: `SELECT i.${ITEM_COLUMNS.replaceAll(", ", ", i.")} FROM action_items i JOIN actions a ON a.id = i.action_id WHERE a.transfer_id = '${t.id}' ORDER BY a.line, i.position`,
          },
        ]));
      await rm(file);
      console.log(
        `item level (${ROWS} lines, ${Math.floor(ROWS / 3)} orders of 3 items): Ferry ${Math.round(ferryRate)} rows/s; COPY of the enriched actions and items into twins ${Math.round(referenceRate)} rows/s, ratio ${(ferryRate / referenceRate).toFixed(2)}x`,
      );
    }

    // 1c. Action modifications: ROWS changes (reversals, returns, approvals) of the first run's orders, against
    // an UPDATE … FROM of the same changes (COPYed into a temporary table) in one transaction.
    if (RUNS > 0) {
      const file = path.join(dir, "modifications.csv");
      await writeLines(
        file,
        modificationLines({
          trackerId: tracker.id,
          orderPrefix: "R0-",
          orders: (function* () {
            for (let n = 1; n <= ROWS; n++) yield n;
          })(),
        }),
      );
      const t = await upload(modifications, file, "modifications.csv");
      if ((await waitDone(t.id)) !== "processed") throw new Error("modification file not processed");
      const ok = (await db.query("SELECT rows_ok FROM transfers WHERE id = $1", [t.id])).rows[0].rows_ok;
      if (ok !== ROWS) throw new Error(`modifications: ${ok} rows ok of ${ROWS}`);
      const ferryRate = ROWS / (await seconds(t.id));
      const account = (await db.query("SELECT account_id FROM transfers WHERE id = $1", [t.id])).rows[0]
        .account_id;
      const referenceRate =
        ROWS /
        timedPsql(
          databaseUrl,
          "CREATE TEMP TABLE changes (order_id text, tracker_id bigint, amount numeric(14,2), reason text, disposition_code text)",
          `\\copy changes FROM '${file}' WITH (FORMAT csv, HEADER true)`,
          `UPDATE actions a SET amount = coalesce(c.amount, a.amount), payout = round(coalesce(c.amount, a.amount) * 0.08, 2),
           state = CASE WHEN c.amount = 0 THEN 'REVERSED' WHEN c.reason = 'APPROVED' THEN 'APPROVED' ELSE a.state END,
           modification_count = a.modification_count + 1, last_reason = c.reason, updated_at = now()
         FROM changes c WHERE a.account_id = '${account}' AND a.tracker_id = c.tracker_id AND a.order_id = c.order_id`,
        );
      await rm(file);
      console.log(
        `action modifications (${ROWS} rows): Ferry ${Math.round(ferryRate)} rows/s; UPDATE … FROM of the same changes ${Math.round(referenceRate)} rows/s, ratio ${(ferryRate / referenceRate).toFixed(2)}x`,
      );
    }

    // 2. Latency.
    const latencies: number[] = [];
    for (let i = 0; i < FILES; i++) {
      const file = path.join(dir, `small-${i}.csv`);
      await writeLines(
        file,
        conversionLines({
          campaignId: campaign.id,
          trackerId: tracker.id,
          clickIds: (n) => clickId("clk-", n),
          clickCount: CLICKS,
          count: 1000,
          orderPrefix: `L${i}-`,
          seed: 1000 + i,
        }),
      );
      const t = await upload(conversions, file, `small-${i}.csv`);
      await waitDone(t.id);
      const r = await db.query(
        "SELECT extract(epoch FROM r.created_at - t.created_at) AS s FROM result_files r JOIN transfers t ON t.id = r.transfer_id WHERE r.transfer_id = $1 AND r.kind = 'summary'",
        [t.id],
      );
      latencies.push(Number(r.rows[0].s) * 1000);
    }
    console.log(
      `latency (${FILES} files of 1,000 rows, upload close → summary): p50 ${Math.round(pct(latencies, 50))} ms, p99 ${Math.round(pct(latencies, 99))} ms`,
    );

    // 3. Memory.
    if (CATALOG_MB > 0) {
      const file = path.join(dir, "catalog.csv");
      const items = Math.round((CATALOG_MB * 1024 * 1024) / 196);
      const size = await writeLines(file, catalogCsvLines(items));
      const before = (await memoryOf(ferry.pid)).rss;
      let peak = before;
      let peakUpload = before;
      const sampler = setInterval(() => {
        memoryOf(ferry.pid).then(
          (r) => {
            peakUpload = Math.max(peakUpload, r.rss);
          },
          () => {},
        );
      }, 50);
      const t = await upload(catalog, file, "catalog.csv");
      clearInterval(sampler);
      const started = Date.now();
      const status = await waitDone(t.id, async () => {
        peak = Math.max(peak, (await memoryOf(ferry.pid)).rss);
      });
      console.log(
        `memory: catalog of ${(size / 1024 ** 3).toFixed(2)} GiB (${items} items) ${status} in ${((Date.now() - started) / 1000).toFixed(0)} s; Ferry RSS ${Math.round(before / 1e6)} MB before, peak ${Math.round(peakUpload / 1e6)} MB while it arrived (HTTP), peak ${Math.round(peak / 1e6)} MB while processed`,
      );
      await rm(file);
    }
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
