/**
 * Processing end to end: `ferry demo` through the CLI, sample files uploaded with OpenSSH's sftp, results
 * read back over SFTP; a worker killed with SIGKILL in the middle of a large file; two Ferry processes on one
 * database sharing the work.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clickId, conversionLines, text } from "../../src/demo/samples.js";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { type SshLogin, sftpBatch } from "../helpers/openssh.js";
import { csvRows } from "../helpers/platform.js";

const ADMIN = "admin_token_for_processing_e2e_0123456789";
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let env: Record<string, string>;
let db: pg.Client;
let login: SshLogin;
let demo: {
  campaignId: number;
  trackerId: number;
  connections: Record<string, { id: string; folder: string }>;
};

const api = (method: string, p: string, body?: unknown) => apiCall(ferry.url, ADMIN, method, p, body);

/** Polls a transfer until it is done (processed or failed). */
async function done(transferId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await api("GET", `/api/v1/transfers/${transferId}`);
    if (
      ["processed", "partial", "rejected", "validated", "failed"].includes(t.status) ||
      (t.status === "duplicate" && t.processedAt)
    )
      return t;
    if (Date.now() > deadline) throw new Error(`transfer ${transferId} still ${t.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The newest transfer of a connection with this file name. */
async function transferNamed(connectionId: string, name: string) {
  const page = await api("GET", `/api/v1/connections/${connectionId}/transfers?limit=200`);
  return page.items.filter((t: { fileName: string }) => t.fileName === name).pop();
}

async function upload(connectionId: string, name: string, content: string) {
  const res = await fetch(
    `${ferry.url}/api/v1/connections/${connectionId}/files?name=${encodeURIComponent(name)}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/octet-stream" },
      body: content,
    },
  );
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-processing-e2e-"));
  database = await createTestDatabase();
  env = {
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_LOG_LEVEL: "warn",
  };
  ferry = await startServe(env);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const res = await runCli(["demo", "--dir", path.join(dir, "examples"), "--clicks", "2000"], {
    FERRY_URL: ferry.url,
    FERRY_TOKEN: ADMIN,
  });
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/clicks: \{"total":2000,"ok":2000,"error":0,"duplicate":0\} \(processed\)/);
  const username = /SFTP login: (\S+)/.exec(res.stdout)![1]!;
  const password = /password: +(\S+)/.exec(res.stdout)![1]!;
  const sftpPort = Number(/sftp:\/\/[^:]+:(\d+)\//.exec(res.stdout)![1]);
  login = { port: sftpPort, username, password, workDir: dir };
  // It ends with commands to copy: this server's port, host and login, and a first outbound file.
  expect(res.stdout).toContain(`sftp -P ${sftpPort} ${username}@`);
  const outboxFile = /sftp> get (\/\S+\/outbox\/\S+)/.exec(res.stdout)?.[1];
  expect(outboxFile).toMatch(/^\/demo-daily-report\/outbox\/.+\.csv$/);
  const download = /npx ferry transfers download (\S+)/.exec(res.stdout)![1]!;
  const got = await runCli(["transfers", "download", download, "-o", "-"], {
    FERRY_URL: ferry.url,
    FERRY_TOKEN: ADMIN,
  });
  expect(got.code).toBe(0);
  expect(got.stdout).toMatch(/^ActionId,/);
  // Run again: it reuses what exists; with --json, one object to script with.
  const again = await runCli(["demo", "--dir", path.join(dir, "examples"), "--clicks", "2000", "--json"], {
    FERRY_URL: ferry.url,
    FERRY_TOKEN: ADMIN,
  });
  expect(again.code, again.stderr).toBe(0);
  const made = again.json();
  expect(Object.keys(made.connections).sort()).toEqual([
    "action_modifications",
    "clicks",
    "conversions",
    "product_catalog",
  ]);
  expect(made.connections.conversions.address).toContain(`:${sftpPort}/`);
  expect(made.report).toMatchObject({
    folder: "demo-daily-report",
    fileName: expect.stringMatching(/\.csv$/),
  });
  const [campaign] = (await api("GET", "/api/v1/campaigns")).items;
  const [tracker] = (await api("GET", `/api/v1/campaigns/${campaign.id}/trackers`)).items;
  const connections = (await api("GET", "/api/v1/connections?limit=200")).items;
  demo = {
    campaignId: campaign.id,
    trackerId: tracker.id,
    connections: Object.fromEntries(
      connections.map((c: { dataType: string; id: string; folder: string }) => [c.dataType, c]),
    ),
  };
});

afterAll(async () => {
  await db?.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("processing with real clients", () => {
  it("takes every demo sample over SFTP and puts receipt, summary and errors in results/", async () => {
    const ex = (name: string) => path.join(dir, "examples", name);
    const c = demo.connections;
    const put = await sftpBatch(login, [
      `put ${ex("conversions.csv")} /${c.conversions!.folder}/inbox/`,
      `put ${ex("conversions_items.csv")} /${c.conversions!.folder}/inbox/`,
      `put ${ex("conversions_with_errors.csv")} /${c.conversions!.folder}/inbox/`,
      `put ${ex("clicks.csv")} /${c.clicks!.folder}/inbox/`,
      `put ${ex("catalog.csv")} /${c.product_catalog!.folder}/inbox/`,
    ]);
    expect(put.code, put.stderr).toBe(0);
    const expected: [string, string, number, number][] = [
      ["conversions", "conversions.csv", 500, 0],
      ["conversions", "conversions_items.csv", -1, 0],
      ["conversions", "conversions_with_errors.csv", 5, 4],
      ["clicks", "clicks.csv", 100, 0],
      ["product_catalog", "catalog.csv", 1000, 0],
    ];
    for (const [type, name, total, errors] of expected) {
      const t = await done((await transferNamed(c[type]!.id, name)).id);
      expect(t.status, name).toBe(errors ? "partial" : "processed");
      if (total >= 0) expect(t.rows.total, name).toBe(total);
      expect(t.rows.error, name).toBe(errors);
    }
    // The modifications refer to orders of conversions.csv, now recorded; the XML catalog replaces the CSV one.
    const put2 = await sftpBatch(login, [
      `put ${ex("action_modifications.csv")} /${c.action_modifications!.folder}/inbox/`,
      `put ${ex("catalog.xml")} /${c.product_catalog!.folder}/inbox/`,
    ]);
    expect(put2.code, put2.stderr).toBe(0);
    const mods = await done((await transferNamed(c.action_modifications!.id, "action_modifications.csv")).id);
    expect(mods.rows).toEqual({ total: 30, ok: 30, error: 0, duplicate: 0 });
    const xml = await done((await transferNamed(c.product_catalog!.id, "catalog.xml")).id);
    expect(xml.rows).toEqual({ total: 200, ok: 200, error: 0, duplicate: 0 });

    const get = await sftpBatch(login, [
      `cd /${c.conversions!.folder}/results`,
      "ls -1",
      `get conversions_with_errors_summary.json ${path.join(dir, "summary.json")}`,
      `get conversions_with_errors_errors.csv ${path.join(dir, "errors.csv")}`,
      `get receipt_conversions.txt ${path.join(dir, "receipt.txt")}`,
      "rm receipt_conversions.txt",
    ]);
    expect(get.stdout).toMatch(/conversions_summary\.json\nconversions_with_errors_errors\.csv/);
    expect(get.stderr).toMatch(/Couldn't delete file|Permission denied/);
    const summary = JSON.parse(await readFile(path.join(dir, "summary.json"), "utf8"));
    expect(summary).toMatchObject({ status: "partial", rows: { total: 5, ok: 1, error: 4 } });
    const errors = csvRows(await readFile(path.join(dir, "errors.csv"), "utf8"));
    expect(errors.map((r) => [r[0], r[r.length - 2]])).toEqual([
      ["2", "INVALID_DATE"],
      ["3", "INVALID_AMOUNT"],
      ["4", "UNKNOWN_CLICK"],
      ["5", "UNKNOWN_CAMPAIGN"],
    ]);
    const receipt = await readFile(path.join(dir, "receipt.txt"), "utf8");
    const conversions = await transferNamed(c.conversions!.id, "conversions.csv");
    expect(receipt).toContain(`Trace id: ${conversions.id}`);
  });
});

describe("outbound files", () => {
  it("generates a report on `ferry connections run` and serves it from outbox/ over SFTP", async () => {
    const credential = await api("POST", "/api/v1/credentials", { name: "Reports pull", kind: "password" });
    const connection = await api("POST", "/api/v1/connections", {
      name: "Daily actions",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId: credential.id,
      details: {
        report: "action_listing",
        fileNameTemplate: "actions_{period_start:yyyyMMdd}_{run_id}.{ext}",
      },
    });
    const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const cli = await runCli(["connections", "run", connection.id, "--from", from, "--to", to, "--json"], {
      FERRY_URL: ferry.url,
      FERRY_TOKEN: ADMIN,
    });
    expect(cli.code, cli.stderr).toBe(0);
    const runId = cli.json().id;
    let run = cli.json();
    for (let i = 0; i < 100 && run.status === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      [run] = (await api("GET", `/api/v1/connections/${connection.id}/runs`)).items;
    }
    expect(run).toMatchObject({ id: runId, status: "generated" });
    const expected = await db.query(
      "SELECT count(*)::int AS n FROM actions WHERE event_date >= $1 AND event_date < $2",
      [from, to],
    );
    expect(run.rows).toBe(expected.rows[0].n);
    const transfer = await api("GET", `/api/v1/transfers/${run.transferId}`);
    const pull: SshLogin = {
      port: login.port,
      username: credential.username,
      password: credential.password,
      workDir: dir,
    };
    const got = await sftpBatch(pull, [
      `get /${connection.folder}/outbox/${transfer.fileName} ${path.join(dir, "pulled.csv")}`,
    ]);
    expect(got.code, got.stderr).toBe(0);
    const lines = (await readFile(path.join(dir, "pulled.csv"), "utf8")).trim().split("\n");
    expect(lines).toHaveLength(expected.rows[0].n + 1);
    expect((await api("GET", `/api/v1/transfers/${run.transferId}`)).status).toBe("downloaded");
  });
});

describe("reliability", () => {
  it("survives kill -9 in the middle of a large file, between two of its parts: the data equals a clean run", async () => {
    const rows = 150_000;
    const file = text(
      conversionLines({
        campaignId: demo.campaignId,
        trackerId: demo.trackerId,
        clickIds: (n) => clickId("demo-clk-", n),
        clickCount: 2000,
        count: rows,
        orderPrefix: "CRASH-",
        seed: 77,
      }),
    );
    const expectedSum = csvRows(file).reduce((s, r) => s + Math.round(Number(r[6]) * 100), 0);
    const { id } = await upload(demo.connections.conversions!.id, "big.csv", file);
    // Wait until the worker has applied a part of the file (its insert into actions was seen) and is on the
    // next (the COPY into stage after it), then kill the whole process without warning.
    const deadline = Date.now() + 60_000;
    let inserted = false;
    for (;;) {
      if (Date.now() > deadline) throw new Error("never saw a part applied and the next one staged");
      const seen = await db.query(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      const queries = seen.rows.map((r: { query: string }) => r.query.trim());
      if (queries.some((q) => q.startsWith("INSERT INTO actions"))) inserted = true;
      else if (inserted && queries.some((q) => q.startsWith("COPY stage"))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await ferry.stop("SIGKILL");
    const mid = await db.query("SELECT status FROM transfers WHERE id = $1", [id]);
    expect(mid.rows[0].status).toBe("processing");
    ferry = await startServe(env);
    const t = await done(id, 120_000);
    expect(t.status).toBe("processed");
    expect(t.attempts).toBeGreaterThanOrEqual(2);
    expect(t.rows).toEqual({ total: rows, ok: rows, error: 0, duplicate: 0 });
    const sums = await db.query(
      "SELECT count(*)::int AS n, count(DISTINCT order_id)::int AS orders, sum(original_amount * 100)::bigint AS cents FROM actions WHERE transfer_id = $1",
      [id],
    );
    expect(sums.rows[0]).toEqual({ n: rows, orders: rows, cents: expectedSum });
  }, 240_000);

  it("shares the work between two Ferry processes on one database, each file processed once", async () => {
    const second = await startServe({ ...env, FERRY_DATA_DIR: path.join(dir, "data") });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const file = text(
          conversionLines({
            campaignId: demo.campaignId,
            trackerId: demo.trackerId,
            clickIds: (n) => clickId("demo-clk-", n),
            clickCount: 2000,
            count: 200,
            orderPrefix: `MULTI-${i}-`,
            seed: i,
          }),
        );
        const target = i % 2 === 0 ? ferry.url : second.url;
        const res = await fetch(
          `${target}/api/v1/connections/${demo.connections.conversions!.id}/files?name=multi-${i}.csv`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/octet-stream" },
            body: file,
          },
        );
        ids.push(((await res.json()) as { id: string }).id);
      }
      for (const id of ids) expect((await done(id)).rows.ok).toBe(200);
      const r = await db.query(
        "SELECT count(*)::int AS transfers, sum(attempts)::int AS attempts FROM transfers WHERE id = ANY($1)",
        [ids],
      );
      expect(r.rows[0]).toEqual({ transfers: 12, attempts: 12 });
      const actions = await db.query("SELECT count(*)::int AS n FROM actions WHERE transfer_id = ANY($1)", [
        ids,
      ]);
      expect(actions.rows[0].n).toBe(12 * 200);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
