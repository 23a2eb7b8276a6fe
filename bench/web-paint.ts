/**
 * The web UI with a lot in it, in headless Chromium (Debian's, as the tests use): an account with --connections
 * connections (default 200) and one connection with --transfers files (default 2,000, each with its receipt,
 * summary and errors file). Measured from navigation start, median of --runs loads:
 *   - list: until the connections list's rows are drawn (all of them, or its first page where it pages);
 *   - history: until the connection page's history shows its first page of rows with their result links;
 *   - the API requests each page made, and the largest JSON response.
 *
 *   npm run bench:web [-- --connections 200 --transfers 2000 --runs 5]
 *
 * To compare with an earlier version, run this file from that version's checkout (it only needs the same
 * selectors: `table.list tbody tr`, `[data-testid=history] tbody tr[data-transfer]`, the "Summary" links).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { newId } from "../src/db/ids.js";
import { startFerryWithDatabase } from "./ferry.js";

const { values } = parseArgs({
  options: {
    connections: { type: "string", default: "200" },
    transfers: { type: "string", default: "2000" },
    runs: { type: "string", default: "5" },
  },
});
const CONNECTIONS = Number(values.connections);
const TRANSFERS = Number(values.transfers);
const RUNS = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Loads `url` and waits until `ready` is true in the page; ms since navigation start, requests, biggest JSON. */
async function load(page: Page, url: string, ready: () => boolean) {
  const requests: { url: string; size: number }[] = [];
  const seen = (r: import("playwright-core").Response) => {
    if (!r.url().includes("/api/")) return;
    void r.body().then(
      (b) => requests.push({ url: r.url(), size: b.length }),
      () => requests.push({ url: r.url(), size: 0 }),
    );
  };
  page.on("response", seen);
  await page.goto("about:blank");
  await page.goto(url);
  await page.waitForFunction(ready, undefined, { timeout: 60_000, polling: 10 });
  const ms = await page.evaluate(() => performance.now());
  await page.waitForTimeout(300);
  page.off("response", seen);
  return { ms, requests: requests.length, biggest: Math.max(0, ...requests.map((r) => r.size)) };
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-web-"));
  await chmod(dir, 0o755);
  const password = `bench-${randomBytes(8).toString("hex")}`;
  const { ferry, db, call } = await startFerryWithDatabase(dir, { FERRY_ADMIN_PASSWORD: password });
  const browser = await chromium.launch({
    executablePath: execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"])
      .toString()
      .trim(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  try {
    const made: string[] = [];
    for (let i = 0; i < CONNECTIONS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, CONNECTIONS - i) }, (_, k) =>
          call("POST", "/api/v1/connections", {
            name: `Feed ${String(i + k).padStart(4, "0")}`,
            direction: "inbound",
            dataType: "clicks",
            method: "email",
            methodology: "push_to_platform",
          }),
        ),
      );
      made.push(...batch.map((c: { id: string }) => c.id));
    }
    const target = made[0]!;
    const { rows } = await db.query("SELECT account_id FROM connections WHERE id = $1", [target]);
    const account = rows[0].account_id as string;
    // The history: files a minute apart, each with its three result files.
    const start = Date.now() - TRANSFERS * 60_000;
    for (let i = 0; i < TRANSFERS; i += 500) {
      const ids: string[] = [];
      const names: string[] = [];
      const at: Date[] = [];
      for (let k = i; k < Math.min(TRANSFERS, i + 500); k++) {
        ids.push(newId(start + k * 60_000));
        names.push(`clicks_${String(k).padStart(5, "0")}.csv`);
        at.push(new Date(start + k * 60_000));
      }
      await db.query(
        `INSERT INTO transfers (id, account_id, connection_id, direction, file_name, store_key, size, sha256, status,
           protocol, rows_total, rows_ok, rows_error, rows_duplicate, created_at, updated_at, processed_at)
         SELECT id, $1, $2, 'inbound', name, 'bench/' || id, 1000, repeat('0', 64), 'partial', 'email',
                10, 9, 1, 0, at, at, at
         FROM unnest($3::uuid[], $4::text[], $5::timestamptz[]) AS u(id, name, at)`,
        [account, target, ids, names, at],
      );
      await db.query(
        `INSERT INTO result_files (id, account_id, connection_id, transfer_id, kind, file_name, store_key, size, created_at)
         SELECT gen_random_uuid(), $1, $2, t.id, k.kind, k.kind || '_' || t.file_name, 'bench/r', 100, t.created_at
         FROM transfers t CROSS JOIN (VALUES ('receipt'), ('summary'), ('errors')) AS k(kind)
         WHERE t.id = ANY($3::uuid[])`,
        [account, target, ids],
      );
    }
    const context = await browser.newContext({ baseURL: ferry.url, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto("/");
    await page.getByLabel("Login", { exact: true }).fill("admin");
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Connections" }).waitFor();

    const list = [];
    const history = [];
    for (let r = 0; r < RUNS; r++) {
      list.push(
        await load(page, "/settings/technical/connections", () => {
          const n = document.querySelectorAll("table.list tbody tr").length;
          return n >= 100;
        }),
      );
      history.push(
        await load(page, `/settings/technical/connections/${target}`, () => {
          const rowsShown = document.querySelectorAll("[data-testid=history] tbody tr[data-transfer]").length;
          const summaries = [...document.querySelectorAll("[data-testid=history] a")].filter(
            (a) => a.textContent === "Summary",
          ).length;
          return rowsShown >= 50 && summaries >= 50;
        }),
      );
    }
    await page.goto("/settings/technical/connections");
    await page.waitForFunction(() => document.querySelectorAll("table.list tbody tr").length >= 100);
    const drawn = await page.locator("table.list tbody tr").count();
    const say = (name: string, xs: { ms: number; requests: number; biggest: number }[]) =>
      console.log(
        `${name}: first paint ${median(xs.map((x) => x.ms)).toFixed(0)} ms (median of ${xs.length}; ${xs
          .map((x) => x.ms.toFixed(0))
          .join(", ")}), ${median(xs.map((x) => x.requests))} API requests, largest JSON ${(
          median(xs.map((x) => x.biggest)) / 1024
        ).toFixed(0)} KiB`,
      );
    console.log(`${CONNECTIONS} connections (list draws ${drawn} rows), ${TRANSFERS} files in one history`);
    say("connections list", list);
    say("history (first 50 files with their result links)", history);
  } finally {
    await browser.close();
    await db.end();
    await ferry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
