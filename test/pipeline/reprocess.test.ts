/**
 * Processing a received file again: after a connection's setting is fixed, the same bytes process as a new
 * transfer kept beside the first in the history; rows applied before come back as duplicates, never as
 * second actions; a file refused as a duplicate can be accepted; both are audited. Attempts share the
 * original's stored bytes: counted once, and kept until no attempt needs them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { expireFiles } from "../../src/pipeline/retention.js";
import { useTestApi } from "../helpers/api.js";
import { createProgram, daysAgo, type Program } from "../helpers/platform.js";

const api = useTestApi();
let p: Program;

const HEADER = "CampaignId;ActionTrackerId;EventDate;OrderId;ClickId;MediaId;Amount";
const row = (order: string) =>
  `${p.campaignId};${p.percentTracker};${daysAgo(1)};${order};;${p.partnerA};10,00`;

const call = (method: string, url: string, body?: unknown) => api.current.call(p.token, method, url, body);
const actions = async () =>
  Number((await api.current.db.pool.query("SELECT count(*) AS n FROM actions")).rows[0].n);
const transfer = async (id: string) => (await call("GET", `/api/v1/transfers/${id}`)).body;

/** Asks for a new attempt of `id` and runs its processing here; returns the new transfer. */
async function again(id: string) {
  const res = await call("POST", `/api/v1/transfers/${id}/reprocess`);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body).toMatchObject({ reprocessOf: id, status: "received" });
  await api.current.process(res.body.id);
  return transfer(res.body.id);
}

beforeAll(async () => {
  p = await createProgram(api.current);
});

describe("processing a file again", () => {
  it("processes a file that failed under a wrong setting once the setting is fixed; the first attempt stays", async () => {
    const connection = `/api/v1/connections/${p.connections.conversions}`;
    await call("PATCH", connection, { details: { delimiter: "comma" } });
    const body = `${HEADER}\n${row("AGAIN-1")}\n${row("AGAIN-2")}\n`;
    const received = await api.current.receive(
      { accountId: p.accountId, connectionId: p.connections.conversions },
      "orders.csv",
      body,
    );
    await api.current.process(received.transferId);
    expect((await transfer(received.transferId)).status).toBe("failed");
    const before = await actions();

    await call("PATCH", connection, { details: { delimiter: "auto" } });
    const second = await again(received.transferId);
    expect(second).toMatchObject({ status: "processed", rows: { total: 2, ok: 2, error: 0 } });
    expect(await actions()).toBe(before + 2);
    expect((await transfer(received.transferId)).status).toBe("failed");
    const history = (await call("GET", `${connection}/transfers?order=desc`)).body.items;
    expect(history.slice(0, 2).map((t: { id: string }) => t.id)).toEqual([second.id, received.transferId]);

    // Once more: every row was applied by the attempt before, so each is a duplicate and nothing is added.
    const third = await again(second.id);
    expect(third.rows).toMatchObject({ total: 2, ok: 0, duplicate: 2 });
    expect(await actions()).toBe(before + 2);
    const audit = (await call("GET", "/api/v1/audit?action=transfer.reprocessed")).body.items;
    expect(audit.map((e: { details: { was: string } }) => e.details.was)).toEqual(["failed", "processed"]);
    expect(audit.find((e: { objectId: string }) => e.objectId === third.id)).toMatchObject({
      action: "transfer.reprocessed",
      details: { reprocessOf: second.id, was: "processed" },
    });
  });

  it("accepts a file refused as a duplicate: processed, its rows checked against what was applied", async () => {
    const body = `${HEADER}\n${row("DUP-1")}\n`;
    const to = { accountId: p.accountId, connectionId: p.connections.conversions };
    const first = await api.current.receive(to, "dup.csv", body);
    await api.current.process(first.transferId);
    const copy = await api.current.receive(to, "dup-again.csv", body);
    expect(copy.status).toBe("duplicate");
    await api.current.process(copy.transferId);
    const before = await actions();
    const accepted = await again(copy.transferId);
    expect(accepted).toMatchObject({ fileName: "dup-again.csv", rows: { total: 1, ok: 0, duplicate: 1 } });
    expect(await actions()).toBe(before);
    const audit = (await call("GET", "/api/v1/audit?action=transfer.duplicate_accepted")).body.items;
    expect(audit[0]).toMatchObject({ objectId: accepted.id, details: { reprocessOf: copy.transferId } });
  });

  it("refuses another account's file (404), one in processing and one whose bytes are gone (409)", async () => {
    const other = await createProgram(api.current);
    const theirs = await api.current.receive(
      { accountId: other.accountId, connectionId: other.connections.clicks },
      "theirs.csv",
      "ClickId\nx\n",
    );
    expect((await call("POST", `/api/v1/transfers/${theirs.transferId}/reprocess`)).status).toBe(404);
    const waiting = await api.current.receive(
      { accountId: p.accountId, connectionId: p.connections.clicks },
      "waiting.csv",
      "ClickId\nw1\n",
    );
    const busy = await call("POST", `/api/v1/transfers/${waiting.transferId}/reprocess`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.message).toMatch(/being processed now/);
    await api.current.process(waiting.transferId);
    await api.current.db.pool.query("UPDATE transfers SET store_key = NULL WHERE id = $1", [
      waiting.transferId,
    ]);
    const gone = await call("POST", `/api/v1/transfers/${waiting.transferId}/reprocess`);
    expect(gone.status).toBe(409);
    expect(gone.body.error.message).toMatch(/no longer kept/);
  });

  it("counts shared bytes once and keeps them until neither the original nor an attempt needs them", async () => {
    const to = { accountId: p.accountId, connectionId: p.connections.clicks };
    const original = await api.current.receive(to, "kept.csv", "ClickId\nk1\nk2\n");
    await api.current.process(original.transferId);
    const usage = async () => (await call("GET", `/api/v1/accounts/${p.accountId}`)).body.storageUsedBytes;
    const used = await usage();
    const attempt = await again(original.transferId);
    expect(await usage()).toBe(used);
    const key = async (id: string) =>
      (await api.current.db.pool.query("SELECT store_key FROM transfers WHERE id = $1", [id])).rows[0]
        .store_key;
    const shared = await key(original.transferId);
    expect(await key(attempt.id)).toBe(shared);

    // Everything is due: the attempt lets go, the original keeps the bytes while the attempt held them…
    const stored = async () => {
      const reader = await api.current.store.open(shared).catch(() => null);
      await reader?.close();
      return reader !== null;
    };
    await api.current.db.pool.query(
      "UPDATE transfers SET store_key = NULL WHERE connection_id = $1 AND id NOT IN ($2, $3)",
      [p.connections.clicks, original.transferId, attempt.id],
    );
    const future = new Date(Date.now() + 10 * 365 * 86_400_000);
    await expireFiles(
      api.current.db.db,
      api.current.store,
      { inbound: 30, outbound: 30, results: 30 },
      future,
    );
    expect(await key(attempt.id)).toBeNull();
    expect(await key(original.transferId)).toBe(shared);
    expect(await stored()).toBe(true);
    // …and on the next pass, with no attempt left, it goes with its bytes.
    await expireFiles(
      api.current.db.db,
      api.current.store,
      { inbound: 30, outbound: 30, results: 30 },
      future,
    );
    expect(await key(original.transferId)).toBeNull();
    expect(await stored()).toBe(false);
  });
});
