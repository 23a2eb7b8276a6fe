/**
 * Retention of every kind of file: received originals and result files go after the server's default, the
 * account's setting or the connection's, whichever is nearest; their records stay and say the content
 * expired; a file not yet processed keeps its bytes; storage figures follow. Audit events expire after a year.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compactStorage } from "../../src/domain/storage.js";
import { expireAuditEvents, expireFiles } from "../../src/pipeline/retention.js";
import { useTestApi } from "../helpers/api.js";
import { createProgram, daysAgo, fileRunner, type Program } from "../helpers/platform.js";

const api = useTestApi();
let p: Program;
const run = fileRunner(api, () => p);
const DAY = 86_400_000;
const DEFAULTS = { inbound: 90, results: 90, outbound: 30 };

const call = (method: string, url: string, body?: unknown) => api.current.call(p.token, method, url, body);
const expireAt = (days: number) =>
  expireFiles(api.current.db.db, api.current.store, DEFAULTS, new Date(Date.now() + days * DAY));

/** A small clicks file through the program's clicks connection, processed. */
let n = 0;
const clicksFile = () =>
  run(
    "clicks",
    `clicks-${++n}.csv`,
    `ClickId,CampaignId,MediaId,EventDate\nr-${n},${p.campaignId},${p.partnerA},${daysAgo(1)}\n`,
  );

const storage = async (connectionId: string) =>
  (await call("GET", `/api/v1/connections/${connectionId}`)).body.storage;
const account = async () => (await call("GET", `/api/v1/accounts/${p.accountId}`)).body;

beforeAll(async () => {
  p = await createProgram(api.current);
});

describe("retention", () => {
  it("removes originals and result files after the server's default; records stay, figures follow", async () => {
    const shown = (await call("GET", `/api/v1/connections/${p.connections.clicks}`)).body.retention;
    expect(shown).toEqual({ days: null, resultDays: null, effectiveDays: 90, effectiveResultDays: 90 });
    const { transfer } = await clicksFile();
    const pending = await api.current.receive(
      { accountId: p.accountId, connectionId: p.connections.clicks },
      "not-yet-processed.csv",
      "ClickId,CampaignId,MediaId,EventDate\n",
    );
    const before = await storage(p.connections.clicks);
    expect(before).toMatchObject({ files: 2, resultFiles: 2 }); // receipt + summary of the processed one
    expect(before.bytes).toBeGreaterThan(0);
    expect((await account()).storageUsedBytes).toBe(before.bytes);

    expect(await expireAt(89)).toEqual({ inbound: 0, results: 0, outbound: 0 });
    expect(await expireAt(91)).toEqual({ inbound: 1, results: 2, outbound: 0 });

    const after = (await call("GET", `/api/v1/transfers/${transfer.id}`)).body;
    expect(after).toMatchObject({ id: transfer.id, status: "processed", contentAvailable: false });
    expect(after.rows).toMatchObject({ total: 1, ok: 1 });
    const results = (await call("GET", `/api/v1/transfers/${transfer.id}/results`)).body.items;
    expect(results.map((r: { contentAvailable: boolean }) => r.contentAvailable)).toEqual([false, false]);
    const content = await call("GET", `/api/v1/transfers/${transfer.id}/content`);
    expect(content.status).toBe(404);
    expect(content.body.error.message).toMatch(/retention/);
    const summary = await call("GET", `/api/v1/transfers/${transfer.id}/results/summary`);
    expect(summary.status).toBe(404);
    expect(summary.body.error.message).toMatch(/summary file \(removed by the retention policy\)/);

    // The file still waiting for processing keeps its bytes, however old.
    expect((await call("GET", `/api/v1/transfers/${pending.transferId}`)).body.contentAvailable).toBe(true);
    expect(await expireAt(400)).toEqual({ inbound: 0, results: 0, outbound: 0 });
    const left = await storage(p.connections.clicks);
    const size = Buffer.byteLength("ClickId,CampaignId,MediaId,EventDate\n");
    expect(left).toEqual({ files: 1, bytes: size, resultFiles: 0, resultBytes: 0 });
    expect((await account()).storageUsedBytes).toBe(size);
  });

  it("follows the account's setting, and a connection's own over it", async () => {
    const set = await call("PATCH", `/api/v1/accounts/${p.accountId}`, {
      retention: { inboundDays: 10, resultDays: 5 },
    });
    expect(set.status).toBe(200);
    expect(set.body.retention).toEqual({ inboundDays: 10, resultDays: 5, outboundDays: null });
    const own = await call("PATCH", `/api/v1/connections/${p.connections.conversions}`, {
      retentionDays: 200,
      resultRetentionDays: 20,
    });
    expect(own.status).toBe(200);
    expect(own.body.retention).toEqual({
      days: 200,
      resultDays: 20,
      effectiveDays: 200,
      effectiveResultDays: 20,
    });
    const clicks = (await call("GET", `/api/v1/connections/${p.connections.clicks}`)).body;
    expect(clicks.retention).toEqual({
      days: null,
      resultDays: null,
      effectiveDays: 10,
      effectiveResultDays: 5,
    });

    const viaAccount = (await clicksFile()).transfer;
    const viaConnection = await run(
      "conversions",
      "orders.csv",
      `CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,MediaId,Amount\n${p.campaignId},${p.fixedTracker},${daysAgo(1)},K-1,,${p.partnerA},10.00\n`,
    );
    expect(await expireAt(6)).toEqual({ inbound: 0, results: 2, outbound: 0 }); // clicks' results (5 days)
    expect(await expireAt(11)).toEqual({ inbound: 1, results: 0, outbound: 0 }); // clicks' original (10)
    expect((await call("GET", `/api/v1/transfers/${viaAccount.id}`)).body.contentAvailable).toBe(false);
    expect((await call("GET", `/api/v1/transfers/${viaConnection.transfer.id}`)).body.contentAvailable).toBe(
      true,
    );
    expect(viaConnection.summary.rows.ok).toBe(1);
    expect(await expireAt(21)).toEqual({ inbound: 0, results: 2, outbound: 0 }); // conversions' results (20)
    expect(await expireAt(201)).toEqual({ inbound: 1, results: 0, outbound: 0 }); // conversions' original (200)

    const audit = (await call("GET", `/api/v1/connections/${p.connections.conversions}/audit`)).body.items;
    expect(audit.find((e: { action: string }) => e.action === "connection.updated")).toMatchObject({
      details: { changes: { retention: { from: { days: null }, to: { days: 200, resultDays: 20 } } } },
    });
  });

  it("refuses settings out of range, and result retention on an outbound connection", async () => {
    const bad = await call("PATCH", `/api/v1/accounts/${p.accountId}`, { retention: { inboundDays: 0 } });
    expect(bad.status).toBe(400);
    const credentialId = (await call("POST", "/api/v1/credentials", { name: "out", kind: "password" })).body
      .id;
    const out = (
      await call("POST", "/api/v1/connections", {
        name: "Report out",
        direction: "outbound",
        dataType: "reports",
        method: "sftp",
        methodology: "pull_from_platform",
        credentialId,
        details: { report: "action_listing" },
      })
    ).body;
    const refused = await call("PATCH", `/api/v1/connections/${out.id}`, { resultRetentionDays: 3 });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/only inbound connections have result files/);
    const other = await api.current.newAccount();
    const foreign = await api.current.call(other.token, "PATCH", `/api/v1/accounts/${p.accountId}`, {
      retention: { inboundDays: 1 },
    });
    expect(foreign.status).toBe(404);
  });

  it("counts storage from appended changes, folded by any number of processes at once without a double count", async () => {
    const before = await storage(p.connections.clicks);
    for (let i = 0; i < 3; i++) await clicksFile();
    const grown = await storage(p.connections.clicks);
    expect(grown.files).toBe(before.files + 3);
    expect(grown.resultFiles).toBe(before.resultFiles + 6);
    const { db } = api.current.db;
    const pending = async () =>
      Number(
        (
          await db
            .selectFrom("storage_changes")
            .select(db.fn.countAll<string>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await pending()).toBeGreaterThan(0);
    const folded = await Promise.all([compactStorage(db), compactStorage(db), compactStorage(db)]);
    expect(folded.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(await pending()).toBe(0);
    expect(await storage(p.connections.clicks)).toEqual(grown);
    expect((await account()).storageUsedBytes).toBeGreaterThanOrEqual(grown.bytes);
  });

  it("deletes audit events older than their retention, oldest first, and keeps the rest", async () => {
    const { db } = api.current.db;
    const events = () =>
      db
        .selectFrom("audit_events")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("account_id", "=", p.accountId)
        .executeTakeFirstOrThrow()
        .then((r) => Number(r.n));
    const now = await events();
    expect(now).toBeGreaterThan(0);
    await db
      .updateTable("audit_events")
      .set({ at: new Date(Date.now() - 400 * DAY) } as never)
      .where("account_id", "=", p.accountId)
      .where("action", "=", "account.retention_set")
      .execute();
    expect(await expireAuditEvents(db, 365)).toBeGreaterThanOrEqual(1);
    expect(await events()).toBe(now - 1);
    expect(await expireAuditEvents(db, 365)).toBe(0);
  });
});
