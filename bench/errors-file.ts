/**
 * The errors file of a very large refused file, plain against compressed, in the same run: a conversions CSV of
 * --rows rows (default 1,000,000) none of whose clicks exist, so every row is refused and every row goes into
 * the errors file. Uploaded to three connections that differ only in `errorsCompression` (none, gzip, zip);
 * for each: upload close → processed (seconds), the errors-file phase alone (the summary's `errorsMs`), the
 * errors file's size, and their ratios to the plain one.
 *
 *   npm run bench:errors [-- --rows 1000000]
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { conversionLines } from "../src/demo/samples.js";
import { processingSeconds, startFerryWithDatabase, uploadFile, waitProcessed, writeLines } from "./ferry.js";

const { values } = parseArgs({ options: { rows: { type: "string", default: "1000000" } } });
const ROWS = Number(values.rows);
const MiB = 1024 * 1024;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-errors-"));
  // The embedded PostgreSQL runs as "postgres", which must reach its data directory inside.
  await chmod(dir, 0o755);
  const { ferry, admin, db, call } = await startFerryWithDatabase(dir, {
    FERRY_MAX_UPLOAD_BYTES: String(8 * 1024 ** 3),
  });
  try {
    const campaign = await call("POST", "/api/v1/campaigns", { name: "Bench" });
    const tracker = await call("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
      name: "Sale",
      payout: { type: "percent", value: 8 },
    });
    const credential = await call("POST", "/api/v1/credentials", { name: "bench", kind: "password" });
    const file = path.join(dir, "refused.csv");
    const bytes = await writeLines(
      file,
      conversionLines({
        campaignId: campaign.id,
        trackerId: tracker.id,
        count: ROWS,
        clickCount: ROWS,
        clickIds: (i) => `no-such-click-${i}`,
      }),
    );
    console.log(`file: ${ROWS} rows, ${(bytes / MiB).toFixed(0)} MiB, every row refused (unknown click)`);
    const rows: { compression: string; seconds: number; errorsMs: number; size: number }[] = [];
    for (const compression of ["none", "gzip", "zip"]) {
      const connection = await call("POST", "/api/v1/connections", {
        name: `Errors ${compression}`,
        direction: "inbound",
        dataType: "conversions",
        method: "sftp",
        methodology: "push_to_platform",
        credentialId: credential.id,
        details: { errorsCompression: compression },
      });
      const id = await uploadFile(ferry.url, admin, connection.id, file, `refused-${compression}.csv`);
      await waitProcessed(db, id);
      const summary = await call("GET", `/api/v1/transfers/${id}/results/summary`);
      const result = await db.query(
        "SELECT size FROM result_files WHERE transfer_id = $1 AND kind = 'errors'",
        [id],
      );
      if (summary.rows.error !== ROWS)
        throw new Error(`expected ${ROWS} refused rows, got ${summary.rows.error}`);
      rows.push({
        compression,
        seconds: await processingSeconds(db, id),
        errorsMs: summary.timings.errorsMs,
        size: Number(result.rows[0].size),
      });
    }
    const plain = rows[0]!;
    for (const r of rows) {
      console.log(
        `${r.compression.padEnd(5)} ${summaryName(r.compression)}: ${(r.size / MiB).toFixed(1)} MiB (${(r.size / plain.size).toFixed(3)}× plain); upload close → processed ${r.seconds.toFixed(1)} s (${(r.seconds / plain.seconds).toFixed(2)}×); errors file written in ${(r.errorsMs / 1000).toFixed(1)} s (${(r.errorsMs / plain.errorsMs).toFixed(2)}×)`,
      );
    }
  } finally {
    await db.end();
    await ferry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const summaryName = (c: string) =>
  c === "none" ? "_errors.csv    " : c === "gzip" ? "_errors.csv.gz " : "_errors.csv.zip";

await main();
