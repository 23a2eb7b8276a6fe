import { gunzipSync, gzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { conversionLines } from "../../src/demo/samples.js";
import { useTestApi } from "../helpers/api.js";
import {
  createProgram,
  csvRows,
  daysAgo,
  errorTypes,
  fileRunner,
  type Program,
} from "../helpers/platform.js";
import { unzipAll } from "../helpers/zip.js";

const api = useTestApi();
let p: Program;

const call = (method: string, url: string, body?: unknown) => api.current.call(p.token, method, url, body);
const run = fileRunner(api, () => p);

beforeAll(async () => {
  p = await createProgram(api.current);
  const clicks = [
    "ClickId,CampaignId,MediaId,AdId,EventDate,IpAddress",
    `clk-1,${p.campaignId},${p.partnerA},77,${daysAgo(3)},203.0.113.9`,
    `clk-2,${p.campaignId},${p.partnerB},,${daysAgo(2)},`,
  ].join("\n");
  const r = await run("clicks", "clicks.csv", clicks);
  expect(r.summary.rows).toEqual({ total: 2, ok: 2, error: 0, duplicate: 0 });
});

describe("conversions", () => {
  it("are enriched from the click, the promo code or the partner, with the tracker's payout", async () => {
    const file = [
      "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,MediaId,PromoCode,Amount,CurrencyCode",
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},O-1,clk-1,,,120.50,USD`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},O-2,,,spring10,80.00,`,
      `${p.campaignId},${p.fixedTracker},${daysAgo(1)},O-3,,${p.partnerB},,10.00,USD`,
    ].join("\n");
    const { transfer, summary } = await run("conversions", "orders.csv", file);
    expect(transfer.status).toBe("processed");
    expect(summary).toMatchObject({
      status: "processed",
      rows: { total: 3, ok: 3, error: 0, duplicate: 0 },
      applied: 3,
      traceId: transfer.id,
      errorsFile: null,
    });
    const actions = (await call("GET", `/api/v1/actions?transferId=${transfer.id}`)).body.items;
    expect(
      actions.map((a: Record<string, unknown>) => [
        a.orderId,
        a.partnerId,
        a.adId,
        a.amount,
        a.payout,
        a.state,
      ]),
    ).toEqual([
      ["O-1", p.partnerA, 77, 120.5, 12.05, "PENDING"],
      ["O-2", p.partnerA, null, 80, 8, "PENDING"],
      ["O-3", p.partnerB, null, 10, 5, "PENDING"],
    ]);
    const lock = new Date(actions[0].lockingDate).getTime() - new Date(actions[0].eventDate).getTime();
    expect(lock).toBe(30 * 86_400_000);
  });

  it("apply the good rows and report each bad one by line, type and message", async () => {
    const other = await api.current.newAccount();
    const file = [
      "CampaignId,ActionTrackerId,EventDate,Oid,ClickId,MediaId,Amount,Currency,Color",
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-1,clk-2,,50.00,USD,red`,
      `${p.campaignId},${p.percentTracker},yesterday,B-2,clk-2,,50.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-3,clk-2,,-5.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-4,clk-2,,abc,USD,red`,
      `999999,${p.percentTracker},${daysAgo(1)},B-5,clk-2,,5.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-6,nope,,5.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(100)},B-7,clk-2,,5.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-1,clk-2,,50.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},O-1,clk-1,,50.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-8,,,5.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-9,clk-2,,5.00,EUR,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},B-10,clk-2`,
      `${p.campaignId},${p.percentTracker},${daysAgo(200)},B-11,,${p.partnerA},5.00,USD,red`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},${"X".repeat(65)},clk-2,,5.00,USD,red`,
    ].join("\r\n");
    void other;
    const { transfer, summary, errors } = await run("conversions", "mixed.csv", file);
    // One vocabulary: the Transfer says what its summary says (it said "processed" before).
    expect(transfer.status).toBe("partial");
    expect(summary.status).toBe("partial");
    expect(summary.rows).toEqual({ total: 14, ok: 2, error: 10, duplicate: 2 });
    expect(summary.warnings).toEqual(["Unknown columns, ignored: Color"]);
    expect(errorTypes(errors)).toEqual([
      [3, "INVALID_DATE"],
      [4, "NEGATIVE_AMOUNT"],
      [5, "INVALID_AMOUNT"],
      [6, "UNKNOWN_CAMPAIGN"],
      [7, "UNKNOWN_CLICK"],
      [8, "EVENT_TOO_OLD"],
      [9, "DUPLICATE"],
      [10, "DUPLICATE"],
      [11, "MISSING_ATTRIBUTION"],
      [12, "CURRENCY_MISMATCH"],
      [13, "WRONG_FIELD_COUNT"],
      [15, "VALUE_TOO_LONG"],
    ]);
    expect(errors).toContain(
      '"EventDate must be an ISO 8601 date like 2026-03-31T14:05:00Z, not ""yesterday"""',
    );
    expect(errors).toContain("ClickId nope is not a known click");
    // The good rows: B-1 and B-11 (398-day window with MediaId).
    const actions = (await call("GET", `/api/v1/actions?transferId=${transfer.id}`)).body.items;
    expect(actions.map((a: { orderId: string }) => a.orderId)).toEqual(["B-1", "B-11"]);
  });

  it("say partial when some rows are refused and rejected when all are; the connection's status and day follow", async () => {
    const id = p.connections.conversions;
    const today = async () =>
      (await call("GET", `/api/v1/connections/${id}/activity?days=1`)).body.items.at(-1) as {
        files: number;
        partial: number;
        failed: number;
      };
    const activity = async () => (await call("GET", `/api/v1/connections/${id}`)).body.activity.status;
    const before = await today();
    const row = (order: string, amount: string) =>
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},${order},clk-1,${amount}`;
    const header = "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount";
    const some = await run(
      "conversions",
      "some.csv",
      [header, row("H-1", "1.00"), row("H-2", "-1")].join("\n"),
    );
    expect([some.transfer.status, some.summary.status]).toEqual(["partial", "partial"]);
    expect(await activity()).toBe("partial");
    const none = await run("conversions", "none.csv", [header, row("H-3", "-1"), row("H-4", "x")].join("\n"));
    expect([none.transfer.status, none.summary.status]).toEqual(["rejected", "rejected"]);
    expect(none.summary.rows).toMatchObject({ total: 2, ok: 0, error: 2 });
    expect(await activity()).toBe("failed");
    const good = await run("conversions", "good.csv", [header, row("H-5", "2.00")].join("\n"));
    expect(good.transfer.status).toBe("processed");
    expect(await activity()).toBe("completed");
    const after = await today();
    expect([
      after.files - before.files,
      after.partial - before.partial,
      after.failed - before.failed,
    ]).toEqual([3, 1, 1]);
  });

  it("echo the customer's values in the errors file with spreadsheet formulas made harmless", async () => {
    const file = [
      "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount",
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},"=HYPERLINK(""http://evil.example"",""x"")",clk-2,+1+1`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},@SUM(A1),clk-2,-2+3`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},\uFF1DSUM(A1),clk-2,\tx`,
    ].join("\n");
    const { errors } = await run("conversions", "formulas.csv", file);
    const rows = csvRows(errors);
    expect(rows.map((r) => [r[4], r[6]])).toEqual([
      ['\'=HYPERLINK("http://evil.example","x")', "'+1+1"],
      ["'@SUM(A1)", "'-2+3"],
      ["'\uFF1DSUM(A1)", "'\tx"],
    ]);
  });

  it("gzip or zip their errors file when the connection asks: the same CSV, its rows still pages of JSON", async () => {
    const file = [
      "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount",
      `${p.campaignId},${p.percentTracker},not-a-date,Z-1,clk-1,1.00`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},Z-2,clk-1,1.00`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},Z-3,clk-1,-5`,
    ].join("\n");
    const connection = `/api/v1/connections/${p.connections.conversions}`;
    const raw = async (transferId: string) => {
      const res = await api.current.app.inject({
        method: "GET",
        url: `/api/v1/transfers/${transferId}/results/errors`,
        headers: { authorization: `Bearer ${p.token}`, "accept-encoding": "gzip, br" },
      });
      expect(res.statusCode).toBe(200);
      return {
        type: res.headers["content-type"],
        name: res.headers["content-disposition"],
        bytes: res.rawPayload,
      };
    };
    const plain = await run("conversions", "packed-none.csv", file.replace(/Z-/g, "Y-"));
    try {
      const set = await call("PATCH", connection, { details: { errorsCompression: "gzip" } });
      expect(set.status).toBe(200);
      expect(set.body.details.errorsCompression).toBe("gzip");
      const gz = await run("conversions", "packed.csv", file);
      expect(gz.summary.errorsFile).toBe("packed_errors.csv.gz");
      const got = await raw(gz.transfer.id);
      expect(got.type).toBe("application/gzip");
      expect(got.name).toContain("packed_errors.csv.gz");
      const csv = gunzipSync(got.bytes).toString();
      // The same CSV as an uncompressed errors file of the same rows.
      expect(csv).toBe(plain.errors!.replace(/Y-/g, "Z-").replace(/packed-none/g, "packed"));
      expect(errorTypes(csv)).toEqual([
        [2, "INVALID_DATE"],
        [4, "NEGATIVE_AMOUNT"],
      ]);
      const rows = await call("GET", `/api/v1/transfers/${gz.transfer.id}/results/errors/rows?limit=1`);
      expect(rows.body.items.map((r: { line: number }) => r.line)).toEqual([2]);
      const next = await call(
        "GET",
        `/api/v1/transfers/${gz.transfer.id}/results/errors/rows?cursor=${rows.body.nextCursor}`,
      );
      expect(next.body.items.map((r: { line: number }) => r.line)).toEqual([4]);

      await call("PATCH", connection, { details: { errorsCompression: "zip" } });
      const zipped = await run("conversions", "zipped.csv", file.replace(/Z-/g, "X-"));
      expect(zipped.summary.errorsFile).toBe("zipped_errors.csv.zip");
      const z = await raw(zipped.transfer.id);
      expect(z.type).toBe("application/zip");
      const entries = await unzipAll(z.bytes);
      expect(entries.map((e) => e.name)).toEqual(["zipped_errors.csv"]);
      expect(errorTypes(entries[0]!.data.toString())).toEqual([
        [2, "INVALID_DATE"],
        [4, "NEGATIVE_AMOUNT"],
      ]);
      const zrows = await call("GET", `/api/v1/transfers/${zipped.transfer.id}/results/errors/rows`);
      expect(zrows.body.items).toHaveLength(2);
    } finally {
      await call("PATCH", connection, { details: { errorsCompression: "none" } });
    }
  });

  it("give their refused rows as JSON pages too, read from the errors file", async () => {
    const file = [
      "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount",
      `${p.campaignId},${p.percentTracker},not-a-date,J-1,clk-1,1.00`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},J-2,clk-1,1.00`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},"J-3, ""quoted""
and two lines",clk-1,1.001`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},J-4,clk-1,-5`,
    ].join("\n");
    const { transfer } = await run("conversions", "json-errors.csv", file);
    const rows = (q: string) => call("GET", `/api/v1/transfers/${transfer.id}/results/errors/rows${q}`);
    const first = await rows("?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.header).toEqual([
      "CampaignId",
      "ActionTrackerId",
      "EventDate",
      "OrderId",
      "ClickId",
      "Amount",
    ]);
    expect(first.body.items.map((r: { line: number; errorType: string }) => [r.line, r.errorType])).toEqual([
      [2, "INVALID_DATE"],
      [4, "INVALID_AMOUNT"],
    ]);
    expect(first.body.items[1].fields[3]).toBe('J-3, "quoted"\nand two lines');
    expect(first.body.items[1].message).toMatch(/more than two decimals/);
    expect(first.body.nextCursor).toBe("4");
    const second = await rows(`?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((r: { line: number }) => r.line)).toEqual([6]);
    expect(second.body.items[0].fields[5]).toBe("'-5");
    expect(second.body.nextCursor).toBeNull();
    expect((await rows("?cursor=abc")).status).toBe(400);
    const clean = await run(
      "conversions",
      "no-errors.csv",
      `CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount\n${p.campaignId},${p.percentTracker},${daysAgo(1)},J-9,clk-1,1.00\n`,
    );
    expect(clean.summary.rows.error).toBe(0);
    const none = await call("GET", `/api/v1/transfers/${clean.transfer.id}/results/errors/rows`);
    expect(none.status).toBe(404);
    expect(none.body.error.message).toMatch(/errors file/);
  });

  it("take item-level files: consecutive rows of one order are one action summing its items", async () => {
    const file = [
      "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,CurrencyCode,Sku,Quantity,ItemPrice,ItemSubtotal,Category,Name",
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},I-1,clk-1,USD,SKU-A,2,10.00,,Shoes,Runner`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},I-1,clk-1,USD,SKU-B,1,,5.50,Socks,Sock`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},I-2,clk-1,USD,SKU-A,1,10.00,,Shoes,Runner`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},I-2,clk-1,USD,SKU-C,1,3.00,3.00,Hats,Hat`,
    ].join("\n");
    const { summary, errors, transfer } = await run("conversions", "items.csv", file);
    expect(summary.rows).toEqual({ total: 4, ok: 2, error: 2, duplicate: 0 });
    expect(errorTypes(errors)).toEqual([
      [4, "INVALID_ITEM"],
      [5, "INVALID_ITEM"],
    ]);
    const [action] = (await call("GET", `/api/v1/actions?transferId=${transfer.id}`)).body.items;
    const detail = (await call("GET", `/api/v1/actions/${action.id}`)).body;
    expect(detail).toMatchObject({ orderId: "I-1", amount: 25.5, payout: 2.55 });
    expect(detail.items.map((i: { sku: string; amount: number }) => [i.sku, i.amount])).toEqual([
      ["SKU-A", 20],
      ["SKU-B", 5.5],
    ]);
  });

  it("is all or nothing when the connection says so, and applies nothing in validate-only mode", async () => {
    const good = `${p.campaignId},${p.percentTracker},${daysAgo(1)}`;
    const header = "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount";
    await call("PATCH", `/api/v1/connections/${p.connections.conversions}`, {
      details: { allOrNothing: true },
    });
    const strict = await run(
      "conversions",
      "strict.csv",
      `${header}\n${good},AN-1,clk-1,1.00\n${good},AN-2,clk-1,x\n`,
    );
    expect(strict.transfer.status).toBe("failed");
    expect(strict.summary.error.code).toBe("ROWS_FAILED");
    expect(strict.summary.applied).toBe(0);
    expect(errorTypes(strict.errors)).toEqual([[3, "INVALID_AMOUNT"]]);
    await call("PATCH", `/api/v1/connections/${p.connections.conversions}`, {
      details: { allOrNothing: false, validateOnly: true },
    });
    const check = await run("conversions", "check.csv", `${header}\n${good},VO-1,clk-1,1.00\n`);
    expect(check.summary).toMatchObject({ status: "validated", rows: { total: 1, ok: 1 }, applied: 0 });
    expect(check.transfer.validateOnly).toBe(true);
    expect(check.transfer.status).toBe("validated");
    await call("PATCH", `/api/v1/connections/${p.connections.conversions}`, {
      details: { validateOnly: false },
    });
    const orders = (await call("GET", "/api/v1/actions?orderId=AN-1")).body.items.concat(
      (await call("GET", "/api/v1/actions?orderId=VO-1")).body.items,
    );
    expect(orders).toEqual([]);
  });

  it("processing the same transfer again changes nothing", async () => {
    const file = `CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount\n${p.campaignId},${p.percentTracker},${daysAgo(1)},R-1,clk-1,9.00\n`;
    const received = await api.current.receive(
      { accountId: p.accountId, connectionId: p.connections.conversions },
      "again.csv",
      file,
    );
    expect(await api.current.process(received.transferId)).toBe("processed");
    expect(await api.current.process(received.transferId)).toBe("skipped");
    // Even forced back to "received" (a crash after commit, before the job was marked done), no second action.
    await api.current.db.pool.query("UPDATE transfers SET status = 'received' WHERE id = $1", [
      received.transferId,
    ]);
    expect(await api.current.process(received.transferId)).toBe("processed");
    const again = (await call("GET", `/api/v1/transfers/${received.transferId}`)).body;
    expect(again.rows).toEqual({ total: 1, ok: 1, error: 0, duplicate: 0 });
    expect((await call("GET", "/api/v1/actions?orderId=R-1")).body.items).toHaveLength(1);
  });

  it("analyse the tables a large file wrote, so that the next small files plan for their new size", async () => {
    const pool = api.current.db.pool;
    const estimate = async () =>
      Number(
        (await pool.query("SELECT reltuples FROM pg_class WHERE oid = 'actions'::regclass")).rows[0]
          .reltuples,
      );
    const before = await estimate();
    const rows = Array.from(
      { length: 12_000 },
      (_, i) => `${p.campaignId},${p.percentTracker},${daysAgo(1)},BIG-${i},clk-2,1.00`,
    );
    const { summary } = await run(
      "conversions",
      "big.csv",
      `CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount\n${rows.join("\n")}\n`,
    );
    expect(summary.applied).toBe(12_000);
    // The planner's row estimate follows at once (autovacuum would take a minute or more).
    expect(before).toBeLessThan(12_000);
    expect(await estimate()).toBeGreaterThanOrEqual(12_000);

    // Not after a file small for the table (under a tenth of it: an ANALYZE after every 10,000-row file of a
    // busy platform kept a worker from the next file as long as the file itself took). reltuples moves only
    // with ANALYZE, and with VACUUM, which these inserts are too few to start.
    const orders = (prefix: string, count: number) =>
      [
        ...conversionLines({
          campaignId: p.campaignId,
          trackerId: p.percentTracker,
          clickIds: (n) => `clk-${n}`,
          clickCount: 2,
          count,
          orderPrefix: prefix,
        }),
      ].join("");
    expect((await run("conversions", "large.csv", orders("LARGE-", 110_000))).summary.applied).toBe(110_000);
    const known = await estimate();
    expect(known).toBeGreaterThanOrEqual(120_000);
    expect((await run("conversions", "small.csv", orders("SMALL-", 10_000))).summary.applied).toBe(10_000);
    expect(await estimate()).toBe(known);
    expect((await run("conversions", "more.csv", orders("MORE-", 20_000))).summary.applied).toBe(20_000);
    expect(await estimate()).toBeGreaterThanOrEqual(known + 28_000);
  });

  it("are applied a part at a time in the file's one transaction: repeats across parts, ids in line order, nothing kept when the file breaks at its end", async () => {
    // The test processes in parts of 2, 4, 8… rows (test/helpers/api.ts): 60 rows are five parts.
    const header = "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount";
    const rows = (prefix: string) =>
      Array.from(
        { length: 60 },
        (_, i) => `${p.campaignId},${p.percentTracker},${daysAgo(1)},${prefix}-${i + 1},clk-1,${i + 1}.00`,
      );
    const repeated = rows("PART");
    repeated[44] = repeated[2]!; // line 46 repeats line 4's order, four parts later
    const { transfer, summary, errors } = await run(
      "conversions",
      "parts.csv",
      [header, ...repeated].join("\n"),
    );
    expect(summary.timings["stage.parts"]).toBe(5);
    expect(summary.rows).toEqual({ total: 60, ok: 59, error: 0, duplicate: 1 });
    expect(errorTypes(errors)).toEqual([[46, "DUPLICATE"]]);
    const lines = await api.current.db.pool.query(
      "SELECT line FROM actions WHERE transfer_id = $1 ORDER BY id",
      [transfer.id],
    );
    const taken = lines.rows.map((r: { line: number }) => r.line);
    expect(taken).toHaveLength(59);
    expect(taken).toEqual([...taken].sort((a, b) => a - b));

    // A gzip file cut short fails at its end, after four parts were applied: none of them is kept.
    const whole = gzipSync(`${[header, ...rows("CUT")].join("\n")}\n`);
    const cut = await run("conversions", "cut.csv.gz", whole.subarray(0, whole.length - 12));
    expect(cut.summary).toMatchObject({ status: "failed", error: { code: "BAD_ARCHIVE" }, applied: 0 });
    const kept = await api.current.db.pool.query(
      "SELECT count(*)::int AS n FROM actions WHERE transfer_id = $1 OR order_id LIKE 'CUT-%'",
      [cut.transfer.id],
    );
    expect(kept.rows[0].n).toBe(0);
    const again = await run("conversions", "whole.csv.gz", whole);
    expect(again.summary.rows).toEqual({ total: 60, ok: 60, error: 0, duplicate: 0 });
  });
});
