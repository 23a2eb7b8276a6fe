/**
 * Outbound reports generated on demand ("run now"): figures checked against what the input files say,
 * computed here independently of the report SQL.
 */
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { deliverByEmail } from "../../src/pipeline/deliver.js";
import { generateRun } from "../../src/pipeline/generate.js";
import { type Mailer, noMailer } from "../../src/pipeline/mailer.js";
import { expireFiles } from "../../src/pipeline/retention.js";
import { useTestApi } from "../helpers/api.js";
import {
  createProgram,
  csvRows,
  daysAgo,
  fileRunner,
  outboundReport,
  type Program,
} from "../helpers/platform.js";
import { unzipAll } from "../helpers/zip.js";

const api = useTestApi();
let p: Program;
const call = async (method: string, url: string, body?: unknown) => {
  const res = await api.current.call(p.token, method, url, body);
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};
const run = fileRunner(api, () => p);

/** The orders of the test: partner, amount; some reversed later. */
const ORDERS = [
  ["R-1", "A", "100.00"],
  ["R-2", "A", "50.00"],
  ["R-3", "B", "20.00"],
  ["R-4", "B", "30.00"],
  ["R-5", "A", "10.00"],
] as const;
const REVERSED = new Set(["R-2"]);
let period: { from: string; to: string };

const outbound = (name: string, details: Record<string, unknown>) => outboundReport(call, name, details);

/** Runs a connection now for the test's period and returns the generated file's bytes and transfer. */
async function generate(connectionId: string) {
  const pending = await call("POST", `/api/v1/connections/${connectionId}/runs`, period);
  expect(pending.status).toBe("pending");
  expect(await generateRun(api.current.processDeps, pending.id)).toBe("generated");
  const [done] = (await call("GET", `/api/v1/connections/${connectionId}/runs`)).items;
  expect(done).toMatchObject({ id: pending.id, status: "generated" });
  const transfer = await call("GET", `/api/v1/transfers/${done.transferId}`);
  const res = await api.current.app.inject({
    method: "GET",
    url: `/api/v1/transfers/${done.transferId}/content`,
    headers: { authorization: `Bearer ${p.token}` },
  });
  return { run: done, transfer, bytes: res.rawPayload };
}

beforeAll(async () => {
  p = await createProgram(api.current);
  const partner = { A: p.partnerA, B: p.partnerB };
  const clicks = ["ClickId,CampaignId,MediaId,EventDate"];
  for (let i = 0; i < 8; i++)
    clicks.push(`rk-${i},${p.campaignId},${i < 5 ? p.partnerA : p.partnerB},${daysAgo(2)}`);
  await run("clicks", "clicks.csv", `${clicks.join("\n")}\n`);
  const rows = ORDERS.map(
    ([order, who, amount]) =>
      `${p.campaignId},${p.percentTracker},${daysAgo(2)},${order},${partner[who]},${amount}`,
  );
  await run(
    "conversions",
    "orders.csv",
    `CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount\n${rows.join("\n")}\n`,
  );
  const mods = [...REVERSED].map((o) => `${o},${p.percentTracker},0,CONS_FRAUD`);
  await run(
    "action_modifications",
    "mods.csv",
    `OrderId,ActionTrackerId,Amount,Reason\n${mods.join("\n")}\n`,
  );
  period = { from: daysAgo(5), to: new Date(Date.now() + 60_000).toISOString() };
});

describe("run now", () => {
  it("lists every action of the period with its enrichment (CSV)", async () => {
    const c = await outbound("Action listing", { report: "action_listing" });
    const { transfer, bytes, run: r } = await generate(c.id);
    expect(transfer).toMatchObject({
      direction: "outbound",
      status: "generated",
      fileName: expect.stringMatching(/^action-listing_\d{8}\.csv$/),
    });
    const text = bytes.toString("utf8");
    expect(text.split("\n")[0]).toBe(
      "ActionId,CampaignId,CampaignName,ActionTrackerId,ActionTrackerName,MediaId,MediaName,State,LockingDate,EventDate,OrderId,Amount,Payout,Currency,ClickId,PromoCode,CustomerStatus,LastModificationReason",
    );
    const rows = csvRows(text);
    expect(r.rows).toBe(ORDERS.length);
    // The transfer says as much, and that it was made by hand (run now), not by the schedule.
    expect(transfer).toMatchObject({
      protocol: "manual",
      rows: { total: ORDERS.length, ok: ORDERS.length, error: 0, duplicate: 0 },
    });
    expect(rows.map((f) => [f[10], f[7], Number(f[11]), Number(f[12])])).toEqual(
      ORDERS.map(([o, , amount]) => [
        o,
        REVERSED.has(o) ? "REVERSED" : "PENDING",
        REVERSED.has(o) ? 0 : Number(amount),
        REVERSED.has(o) ? 0 : Number(amount) / 10,
      ]),
    );
    // Dates in ISO 8601 with a full offset, which JavaScript reads back to the same instant.
    for (const f of rows) {
      expect(f[9]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
      expect(Number.isNaN(Date.parse(f[9]!))).toBe(false);
    }
  });

  it("zips a file as one entry, the same bytes as the file uncompressed, under its own name", async () => {
    const plain = await generate((await outbound("Listing plain", { report: "action_listing" })).id);
    const zipped = await generate(
      (await outbound("Listing zipped", { report: "action_listing", compression: "zip" })).id,
    );
    expect(zipped.transfer.fileName).toMatch(/^listing-zipped_\d{8}\.csv\.zip$/);
    expect(zipped.transfer.size).toBe(zipped.bytes.length);
    const entries = await unzipAll(zipped.bytes);
    expect(entries.map((e) => e.name)).toEqual([zipped.transfer.fileName.replace(/\.zip$/, "")]);
    // Same rows as the plain file (the action ids differ in nothing: same period, same data).
    expect(entries[0]!.data.toString("utf8")).toBe(plain.bytes.toString("utf8"));
  });

  it("sums per partner, gzip TSV, matching the input files", async () => {
    const c = await outbound("Partners", {
      report: "performance_by_partner",
      format: "tsv",
      compression: "gzip",
    });
    const { transfer, bytes } = await generate(c.id);
    expect(transfer.fileName).toMatch(/\.tsv\.gz$/);
    const lines = gunzipSync(bytes)
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    expect(lines[0]).toEqual([
      "MediaId",
      "MediaName",
      "Clicks",
      "Actions",
      "SaleAmount",
      "Payout",
      "OtherCost",
      "Reversals",
      "ReversedAmount",
      "ConversionRate",
      "EPC",
    ]);
    for (const [who, id, clicks] of [
      ["A", p.partnerA, 5],
      ["B", p.partnerB, 3],
    ] as const) {
      const mine = ORDERS.filter(([, w]) => w === who);
      const kept = mine.filter(([o]) => !REVERSED.has(o));
      const sale = kept.reduce((s, [, , a]) => s + Number(a), 0);
      const row = lines.find((l) => l[0] === String(id))!;
      expect(row.slice(2, 9).map(Number)).toEqual([
        clicks,
        kept.length,
        sale,
        sale / 10,
        0,
        mine.length - kept.length,
        mine.filter(([o]) => REVERSED.has(o)).reduce((s, [, , a]) => s + Number(a), 0),
      ]);
      expect(Number(row[9])).toBeCloseTo(kept.length / clicks, 4);
    }
  });

  it("gives the changes of a period with their deltas, as JSON Lines", async () => {
    const c = await outbound("Updates", { report: "action_updates", format: "jsonl" });
    const { bytes } = await generate(c.id);
    const rows = bytes
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const byOrder = Object.fromEntries(rows.map((r) => [r.OrderId, r]));
    // Everything was created within the period: deltas are the whole values.
    expect(byOrder["R-1"]).toMatchObject({ Amount: 100, DeltaAmount: 100, Payout: 10, DeltaPayout: 10 });
    expect(byOrder["R-2"]).toMatchObject({ State: "REVERSED", Amount: 0, DeltaAmount: 0 });
    expect(rows).toHaveLength(ORDERS.length);
  });

  it("names each run's file apart when the template gives two runs the same name", async () => {
    const c = await outbound("Hourly", { report: "action_listing", schedule: { frequency: "hourly" } });
    const names = [];
    for (let i = 0; i < 3; i++) names.push((await generate(c.id)).transfer.fileName);
    const day = /(\d{8})/.exec(names[0])![1];
    expect(names).toEqual([`hourly_${day}.csv`, `hourly_${day}_2.csv`, `hourly_${day}_3.csv`]);
  });

  it("refuses inbound connections and a period that ends before it starts", async () => {
    const res = await api.current.call(
      p.token,
      "POST",
      `/api/v1/connections/${p.connections.conversions}/runs`,
      {},
    );
    expect(res.status).toBe(409);
    const c = await outbound("Bad period", { report: "action_listing" });
    const bad = await api.current.call(p.token, "POST", `/api/v1/connections/${c.id}/runs`, {
      from: period.to,
      to: period.from,
    });
    expect(bad.status).toBe(400);
  });

  it("takes a double-clicked Run now as one run: the same period asked again at once gives the same run", async () => {
    const c = await outbound("Clicked twice", { report: "action_listing" });
    const [a, b] = await Promise.all([
      call("POST", `/api/v1/connections/${c.id}/runs`, period),
      call("POST", `/api/v1/connections/${c.id}/runs`, period),
    ]);
    expect(b.id).toBe(a.id);
    const other = await call("POST", `/api/v1/connections/${c.id}/runs`, {
      from: period.from,
      to: new Date(new Date(period.to).getTime() + 3_600_000).toISOString(),
    });
    expect(other.id).not.toBe(a.id);
    const runs = (await call("GET", `/api/v1/connections/${c.id}/runs`)).items;
    expect(runs).toHaveLength(2);
    const requested = (await call("GET", `/api/v1/connections/${c.id}/audit`)).items.filter(
      (e: { action: string }) => e.action === "connection.run_requested",
    );
    expect(requested).toHaveLength(2);
  });

  it("say delivery_failed when the file could not be mailed (no relay), the connection Failed; delivered once sent", async () => {
    const c = await call("POST", "/api/v1/connections", {
      name: "Mailed listing",
      direction: "outbound",
      dataType: "reports",
      method: "email",
      methodology: "pull_from_platform",
      details: { report: "action_listing", recipients: ["ops@partner.example"] },
    });
    // Generated, not downloaded (a download would make it `downloaded`).
    const pending = await call("POST", `/api/v1/connections/${c.id}/runs`, period);
    expect(await generateRun(api.current.processDeps, pending.id)).toBe("generated");
    const [done] = (await call("GET", `/api/v1/connections/${c.id}/runs`)).items;
    const transfer = await call("GET", `/api/v1/transfers/${done.transferId}`);
    expect(transfer.status).toBe("generated");
    const deps = {
      ...api.current.processDeps,
      queue: api.current.queue,
      maxAttachmentBytes: 1024 * 1024,
      publicUrl: "http://ferry.example",
    };
    // A webhook endpoint hears of the first failure and of the delivery, each with the status it made.
    await call("POST", "/api/v1/webhooks", {
      url: "https://hooks.example/ferry",
      events: ["file.delivered", "file.delivery_failed"],
    });
    const events = async () =>
      (
        await api.current.db.pool.query(
          `SELECT event_type, payload->'data'->>'status' AS status FROM webhook_deliveries
           WHERE payload->'data'->>'transferId' = $1 ORDER BY created_at`,
          [transfer.id],
        )
      ).rows;
    // No relay configured: the send cannot happen, and the file says so.
    await expect(deliverByEmail({ ...deps, mailer: noMailer }, transfer.id)).rejects.toThrow(/No SMTP relay/);
    const failed = await call("GET", `/api/v1/transfers/${transfer.id}`);
    expect(failed.status).toBe("delivery_failed");
    expect(failed.error).toMatch(/^Delivery failed: No SMTP relay is configured/);
    const connection = await call("GET", `/api/v1/connections/${c.id}`);
    expect(connection.activity.status).toBe("failed");
    // A second failed attempt is not a second event.
    await expect(deliverByEmail({ ...deps, mailer: noMailer }, transfer.id)).rejects.toThrow(/No SMTP relay/);
    expect(await events()).toEqual([{ event_type: "file.delivery_failed", status: "delivery_failed" }]);
    const [day] = (await call("GET", `/api/v1/connections/${c.id}/activity?days=1`)).items;
    expect(day).toMatchObject({ files: 1, failed: 1 });
    // The retry, once a relay takes the mail (the relay is outside Ferry: the port's other side).
    const sent: string[][] = [];
    const relay: Mailer = {
      send: async (m) => {
        for (const a of m.attachments) for await (const _ of a.content);
        sent.push(m.to);
      },
    };
    expect(await deliverByEmail({ ...deps, mailer: relay }, transfer.id)).toBe("delivered");
    expect(sent).toEqual([["ops@partner.example"]]);
    expect(await call("GET", `/api/v1/transfers/${transfer.id}`)).toMatchObject({
      status: "delivered",
      error: null,
    });
    expect((await call("GET", `/api/v1/connections/${c.id}`)).activity.status).toBe("completed");
    expect((await events()).map((e) => e.event_type)).toEqual(["file.delivery_failed", "file.delivered"]);
    expect((await events())[1].status).toBe("delivered");
  });

  it("keeps generated files for the retention period; then the bytes go and the transfer stays", async () => {
    const c = await outbound("Retained", { report: "action_listing" });
    const { transfer } = await generate(c.id);
    const store = api.current.store;
    const key = (
      await api.current.db.db
        .selectFrom("transfers")
        .select("store_key")
        .where("id", "=", transfer.id)
        .executeTakeFirstOrThrow()
    ).store_key!;
    const days = { inbound: 36500, results: 36500, outbound: 30 };
    await expireFiles(api.current.db.db, store, days, new Date(Date.now() + 29 * 86_400_000));
    expect((await call("GET", `/api/v1/transfers/${transfer.id}`)).contentAvailable).toBe(true);
    expect(
      (await expireFiles(api.current.db.db, store, days, new Date(Date.now() + 31 * 86_400_000))).outbound,
    ).toBeGreaterThanOrEqual(1);
    const after = await call("GET", `/api/v1/transfers/${transfer.id}`);
    expect(after).toMatchObject({ id: transfer.id, status: "downloaded", contentAvailable: false });
    const res = await api.current.call(p.token, "GET", `/api/v1/transfers/${transfer.id}/content`);
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/retention/);
    await expect(store.open(key)).rejects.toThrow();
  });

  it("computes performance bonuses per partner on locked actions, for every kind of rule", async () => {
    // The fixed tracker locks at once; the percent one (30 days) does not, so its actions are not counted.
    const base = Date.now() - 3 * 86_400_000;
    const at = (i: number) => new Date(base + i * 60_000).toISOString();
    const amountsA = [40, 30, 60, 50, 70]; // partner A, in event order
    const amountsB = [25, 35];
    const rows = [
      ...amountsA.map((a, i) => `${p.campaignId},${p.fixedTracker},${at(i)},BA-${i},${p.partnerA},${a}.00`),
      ...amountsB.map((a, i) => `${p.campaignId},${p.fixedTracker},${at(i)},BB-${i},${p.partnerB},${a}.00`),
    ];
    await run(
      "conversions",
      "bonus.csv",
      `CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount\n${rows.join("\n")}\n`,
    );
    const rule = (name: string, basis: string, kind: string, tiers: { from: number; value: number }[]) =>
      call("POST", `/api/v1/campaigns/${p.campaignId}/bonus-rules`, { name, basis, kind, tiers });
    await rule("count fixed", "actions", "fixed", [
      { from: 3, value: 25 },
      { from: 5, value: 60 },
    ]);
    await rule("revenue all", "revenue", "raise_all", [
      { from: 100, value: 2 },
      { from: 200, value: 5 },
    ]);
    await rule("count past", "actions", "raise_past_tier", [
      { from: 2, value: 10 },
      { from: 4, value: 20 },
    ]);
    await rule("revenue past", "revenue", "raise_past_tier", [
      { from: 50, value: 10 },
      { from: 150, value: 20 },
    ]);
    const bad = await api.current.call(p.token, "POST", `/api/v1/campaigns/${p.campaignId}/bonus-rules`, {
      name: "bad",
      basis: "actions",
      kind: "fixed",
      tiers: [
        { from: 5, value: 1 },
        { from: 2, value: 2 },
      ],
    });
    expect(bad.status).toBe(400);

    const credentialId = (await call("POST", "/api/v1/credentials", { name: "bonus", kind: "password" })).id;
    const c = await call("POST", "/api/v1/connections", {
      name: "Bonus detail",
      direction: "outbound",
      dataType: "performance_bonus_detail",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId,
    });
    const { bytes } = await generate(c.id);
    const got = csvRows(bytes.toString("utf8")).map((f) => ({
      partner: Number(f[0]),
      rule: f[4],
      actions: Number(f[7]),
      revenue: Number(f[8]),
      tier: Number(f[9]),
      bonus: Number(f[10]),
    }));

    // The same figures, computed here from the amounts.
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const pastCount = (xs: number[]) =>
      sum(xs.map((a, i) => (i + 1 > 4 ? a * 0.2 : i + 1 > 2 ? a * 0.1 : 0)));
    const bands = (r: number) => Math.max(0, Math.min(r, 150) - 50) * 0.1 + Math.max(0, r - 150) * 0.2;
    const expected = (partner: number, xs: number[]) => {
      const r = sum(xs);
      return [
        {
          partner,
          rule: "count fixed",
          actions: xs.length,
          revenue: r,
          tier: xs.length >= 5 ? 2 : xs.length >= 3 ? 1 : 0,
          bonus: xs.length >= 5 ? 60 : xs.length >= 3 ? 25 : 0,
        },
        {
          partner,
          rule: "revenue all",
          actions: xs.length,
          revenue: r,
          tier: r >= 200 ? 2 : r >= 100 ? 1 : 0,
          bonus: (r * (r >= 200 ? 5 : r >= 100 ? 2 : 0)) / 100,
        },
        {
          partner,
          rule: "count past",
          actions: xs.length,
          revenue: r,
          tier: xs.length >= 4 ? 2 : xs.length >= 2 ? 1 : 0,
          bonus: pastCount(xs),
        },
        {
          partner,
          rule: "revenue past",
          actions: xs.length,
          revenue: r,
          tier: r >= 150 ? 2 : r >= 50 ? 1 : 0,
          bonus: bands(r),
        },
      ];
    };
    expect(got).toEqual([...expected(p.partnerA, amountsA), ...expected(p.partnerB, amountsB)]);
    // The same bonuses are the "other cost" of the performance report.
    const perf = await outbound("Partners with bonuses", { report: "performance_by_partner" });
    const rowsPerf = csvRows((await generate(perf.id)).bytes.toString("utf8"));
    for (const [id, xs] of [
      [p.partnerA, amountsA],
      [p.partnerB, amountsB],
    ] as const) {
      const other = Number(rowsPerf.find((f) => f[0] === String(id))![6]);
      expect(other).toBeCloseTo(sum(expected(id, [...xs]).map((e) => e.bonus)), 2);
    }
  });
});
