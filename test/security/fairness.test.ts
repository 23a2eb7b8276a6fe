/**
 * Noisy neighbours: one account's burst of files must not hold every worker while another account's file
 * waits (FERRY_PROCESSING_PER_ACCOUNT); a decompression bomb is stopped within seconds, however small.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createGzip, gzipSync } from "node:zlib";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";

const ADMIN = `fairness_admin_${randomBytes(8).toString("hex")}`;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let db: pg.Client;

async function tenant(name: string) {
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", { name, type: "brand" });
  const token = (await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`)).token;
  const connection = await apiCall(ferry.url, token, "POST", "/api/v1/connections", {
    name: `${name} clicks`,
    direction: "inbound",
    dataType: "clicks",
    method: "email",
    methodology: "push_to_platform",
  });
  const upload = async (name: string, body: Buffer | string) => {
    const res = await fetch(`${ferry.url}/api/v1/connections/${connection.id}/files?name=${name}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
      body: typeof body === "string" ? body : new Uint8Array(body),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  return { upload };
}

const clicks = (n: number, prefix: string) =>
  `ClickId,CampaignId,MediaId,EventDate\n${Array.from({ length: n }, (_, i) => `${prefix}${i},1,1,2026-11-30T10:00:00Z`).join("\n")}\n`;

async function finished(ids: string[]): Promise<Map<string, { status: string; at: Date }>> {
  for (let i = 0; i < 600; i++) {
    const { rows } = await db.query(
      "SELECT id, status, processed_at FROM transfers WHERE id = ANY($1) AND status NOT IN ('received', 'processing')",
      [ids],
    );
    if (rows.length === ids.length)
      return new Map(rows.map((r) => [r.id, { status: r.status, at: r.processed_at }]));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("files not processed in time");
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-fairness-"));
  database = await createTestDatabase();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "2",
    FERRY_PROCESSING_PER_ACCOUNT: "1",
    FERRY_LOG_LEVEL: "warn",
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("fair processing", () => {
  it("starts another account's file while one account's burst is processed", async () => {
    const noisy = await tenant("Noisy");
    const quiet = await tenant("Quiet");
    const burst = [];
    for (let i = 0; i < 4; i++) burst.push(await noisy.upload(`burst_${i}.csv`, clicks(40_000, `n${i}-`)));
    const single = await quiet.upload("single.csv", clicks(10, "q-"));
    const done = await finished([...burst, single]);
    const lastOfBurst = Math.max(...burst.map((id) => done.get(id)!.at.getTime()));
    expect(done.get(single)!.at.getTime()).toBeLessThan(lastOfBurst);
  });

  it("stops a gzip bomb padded to look harmless within seconds (ARCHIVE_BOMB)", {
    timeout: 60_000,
  }, async () => {
    // 512 MiB of valid click rows in 0.5 MB, then 4 MiB of incompressible bytes in a second gzip member: the
    // whole file's ratio (~110) is under the limit (200); what came out of what went in so far is not.
    const row = Buffer.from("x,1,1,2026-11-30T10:00:00Z\n".repeat(38_836));
    const chunks: Buffer[] = [];
    const gzip = createGzip();
    gzip.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => gzip.once("end", r));
    gzip.write("ClickId,CampaignId,MediaId,EventDate\n");
    for (let i = 0; i < 512; i++) if (!gzip.write(row)) await new Promise((r) => gzip.once("drain", r));
    gzip.end();
    await ended;
    const bomb = Buffer.concat([...chunks, gzipSync(randomBytes(4 * 1024 * 1024))]);
    expect(bomb.length).toBeLessThan(6 * 1024 * 1024);
    const t = await tenant("Bomber");
    const started = Date.now();
    const id = await t.upload("bomb.csv.gz", bomb);
    const done = await finished([id]);
    expect(done.get(id)!.status).toBe("failed");
    expect(Date.now() - started).toBeLessThan(20_000);
    const { rows } = await db.query("SELECT error FROM transfers WHERE id = $1", [id]);
    expect(JSON.stringify(rows[0])).toMatch(/expands more than 200 times/);
  });
});
