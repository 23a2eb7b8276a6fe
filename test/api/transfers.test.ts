import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { recordUpload } from "../../src/pipeline/receive.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let token: string;
let accountId: string;
let connectionId: string;
let ids: string[] = [];

const call = (method: string, url: string, body?: unknown) => api.current.call(token, method, url, body);

/** Receives a file through the real pipeline: store, then the receive transaction. */
async function receive(name: string, content: string) {
  const upload = await api.current.store.create();
  await upload.write(Buffer.from(content), 0);
  const object = await upload.commit();
  const sender = {
    accountId,
    connectionId,
    credentialId: null,
    protocol: "sftp" as const,
    remoteIp: "203.0.113.7",
  };
  return recordUpload(api.current.db.db, api.current.queue, sender, name, object);
}

beforeAll(async () => {
  ({ id: accountId, token } = await api.current.newAccount());
  const credentialId = (await call("POST", "/api/v1/credentials", { name: "c", kind: "password" })).body.id;
  connectionId = (
    await call("POST", "/api/v1/connections", {
      name: "Orders",
      direction: "inbound",
      dataType: "conversions",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId,
    })
  ).body.id;
  ids = [
    (await receive("a.csv", "OrderId\n1\n")).transferId,
    (await receive("b.csv", "OrderId\n2\n")).transferId,
    (await receive("a-again.csv", "OrderId\n1\n")).transferId,
  ];
});

describe("transfers", () => {
  it("are listed per connection with their checksum, sender and status", async () => {
    const res = await call("GET", `/api/v1/connections/${connectionId}/transfers`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((t: { fileName: string; status: string }) => [t.fileName, t.status])).toEqual([
      ["a.csv", "received"],
      ["b.csv", "received"],
      ["a-again.csv", "duplicate"],
    ]);
    expect(res.body.items[0]).toMatchObject({
      size: 10,
      sha256: createHash("sha256").update("OrderId\n1\n").digest("hex"),
      protocol: "sftp",
      remoteIp: "203.0.113.7",
      contentAvailable: true,
      rows: null,
      processedAt: null,
    });
    expect(res.body.items[2].duplicateOf).toBe(ids[0]);
  });

  it("are filtered by status and time range", async () => {
    const status = await call("GET", `/api/v1/connections/${connectionId}/transfers?status=duplicate`);
    expect(status.body.items.map((t: { id: string }) => t.id)).toEqual([ids[2]]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(
      (await call("GET", `/api/v1/connections/${connectionId}/transfers?since=${future}`)).body.items,
    ).toEqual([]);
    const past = new Date(Date.now() - 60_000).toISOString();
    expect(
      (await call("GET", `/api/v1/connections/${connectionId}/transfers?since=${past}&until=${future}`)).body
        .items,
    ).toHaveLength(3);
    const bad = await call(
      "GET",
      `/api/v1/connections/${connectionId}/transfers?since=${future}&until=${past}`,
    );
    expect(bad.status).toBe(400);
    expect((await call("GET", `/api/v1/connections/${connectionId}/transfers?since=yesterday`)).status).toBe(
      400,
    );
  });

  it("give back the original file with its name and checksum, audited", async () => {
    const res = await api.current.app.inject({
      method: "GET",
      url: `/api/v1/transfers/${ids[1]}/content`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe("OrderId\n2\n");
    expect(res.headers["content-disposition"]).toBe("attachment; filename=b.csv");
    expect(res.headers["x-content-sha256"]).toBe(createHash("sha256").update("OrderId\n2\n").digest("hex"));
    const audit = await api.current.db.db
      .selectFrom("audit_events")
      .select(["action", "object_id"])
      .where("action", "=", "transfer.downloaded")
      .execute();
    expect(audit).toEqual([{ action: "transfer.downloaded", object_id: ids[1] }]);
    // The original bytes, never recompressed, whatever the client accepts.
    const asked = await api.current.app.inject({
      method: "GET",
      url: `/api/v1/transfers/${ids[1]}/content`,
      headers: { authorization: `Bearer ${token}`, "accept-encoding": "gzip, br" },
    });
    expect(asked.headers["content-encoding"]).toBeUndefined();
    expect(asked.body).toBe("OrderId\n2\n");
  });

  it("have no result files before processing", async () => {
    expect((await call("GET", `/api/v1/transfers/${ids[0]}/results`)).body).toEqual({ items: [] });
    const res = await call("GET", `/api/v1/transfers/${ids[0]}/results/summary`);
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/written when the file is processed/);
  });

  it("each come with a processing job, enqueued in the same transaction", async () => {
    const jobs = await api.current.db.pool.query(
      `SELECT data->>'transferId' AS id FROM ${api.current.db.schema}_jobs.job WHERE name = 'process-transfer' ORDER BY created_on`,
    );
    expect(jobs.rows.map((r) => r.id).sort()).toEqual([...ids].sort());
  });

  it("of another account answer 404", async () => {
    const other = await api.current.newAccount();
    for (const url of [
      `/api/v1/transfers/${ids[0]}`,
      `/api/v1/transfers/${ids[0]}/content`,
      `/api/v1/connections/${connectionId}/transfers`,
    ]) {
      expect((await api.current.call(other.token, "GET", url)).status).toBe(404);
    }
  });

  it("are downloaded under their own name, accents and spaces included (RFC 6266/8187)", async () => {
    const { transferId } = await receive("ventes été 2026.csv", "OrderId\n3\n");
    const res = await api.current.app.inject({
      method: "GET",
      url: `/api/v1/transfers/${transferId}/content`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-disposition"]).toBe(
      `attachment; filename="ventes ?t? 2026.csv"; filename*=UTF-8''ventes%20%C3%A9t%C3%A9%202026.csv`,
    );
  });
});
