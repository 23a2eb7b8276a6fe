/** /metrics describes the service: a scrape after real files moves the figures a dashboard would show. */
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { LoginGuard } from "../../src/domain/login-guard.js";
import { TEST_GUARD, useTestApi } from "../helpers/api.js";
import { createProgram, daysAgo, fileRunner, type Program } from "../helpers/platform.js";

const api = useTestApi();
let p: Program;
const run = fileRunner(api, () => p);

beforeAll(async () => {
  p = await createProgram(api.current);
});

async function scrape(): Promise<string> {
  const res = await api.current.app.inject({ method: "GET", url: "/metrics" });
  expect(res.statusCode).toBe(200);
  return res.body;
}

/** A sample's value (0 when absent): `name{a="x",b="y"} 12`. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? "").split(",").filter(Boolean);
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}

describe("metrics", () => {
  it("count failed sign-ins by protocol, and the sessions a node holds", async () => {
    const before = await scrape();
    const res = await api.current.call(null, "POST", "/api/v1/session", {
      login: "admin",
      password: "wrong",
    });
    expect(res.status).toBe(401);
    // A session slot as the SFTP server takes one at login, and gives back at disconnect.
    const guard = new LoginGuard(api.current.db.pool, { ...TEST_GUARD });
    const slot = await guard.openSession({ credentialId: randomUUID(), maxSessions: null, protocol: "sftp" });
    const during = await scrape();
    expect(
      value(during, "ferry_login_failures_total", { protocol: "web" }) -
        value(before, "ferry_login_failures_total", { protocol: "web" }),
    ).toBe(1);
    expect(
      value(during, "ferry_sessions", { protocol: "sftp" }) -
        value(before, "ferry_sessions", { protocol: "sftp" }),
    ).toBe(1);
    await slot!.close();
    expect(value(await scrape(), "ferry_sessions", { protocol: "sftp" })).toBe(
      value(before, "ferry_sessions", { protocol: "sftp" }),
    );
  });

  it("count files received and processed, rows by result, processing time, and the queue's backlog", async () => {
    const before = await scrape();
    const file = [
      "CampaignId,ActionTrackerId,EventDate,OrderId,MediaId,Amount",
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},M-1,${p.partnerA},10.00`,
      `${p.campaignId},${p.percentTracker},${daysAgo(1)},M-2,${p.partnerA},20.00`,
      `${p.campaignId},${p.percentTracker},not-a-date,M-3,${p.partnerA},30.00`,
    ].join("\n");
    const { transfer, summary } = await run("conversions", "metrics.csv", file);
    expect(summary.status).toBe("partial");
    expect(summary.rows).toMatchObject({ ok: 2, error: 1 });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);

    expect(delta("ferry_files_received_total", { protocol: transfer.protocol })).toBe(1);
    expect(delta("ferry_received_bytes_total", { protocol: transfer.protocol })).toBe(transfer.size);
    const conversions = { data_type: "conversions" };
    expect(delta("ferry_files_processed_total", { ...conversions, status: "partial" })).toBe(1);
    expect(delta("ferry_rows_total", { ...conversions, result: "ok" })).toBe(2);
    expect(delta("ferry_rows_total", { ...conversions, result: "error" })).toBe(1);
    expect(delta("ferry_processing_duration_seconds_count", conversions)).toBe(1);
    expect(delta("ferry_processing_duration_seconds_sum", conversions)).toBeGreaterThan(0);
    // The test processed the file itself: its job is still waiting in the queue, as a stuck worker's would be.
    expect(value(after, "ferry_jobs_waiting", { queue: "process-transfer" })).toBeGreaterThanOrEqual(1);
    expect(
      value(after, "ferry_jobs_oldest_waiting_seconds", { queue: "process-transfer" }),
    ).toBeGreaterThanOrEqual(0);
    expect(after).toMatch(/^ferry_login_bans 0$/m);
    expect(after).toMatch(/^ferry_schedule_lag_seconds 0$/m);
    // A download counts its bytes out.
    const sentBefore = value(after, "ferry_sent_bytes_total", { protocol: "http" });
    const got = await api.current.app.inject({
      method: "GET",
      url: `/api/v1/transfers/${transfer.id}/content`,
      headers: { authorization: `Bearer ${p.token}` },
    });
    expect(got.statusCode).toBe(200);
    expect(value(await scrape(), "ferry_sent_bytes_total", { protocol: "http" }) - sentBefore).toBe(
      transfer.size,
    );
    // The HTTP and process metrics are still there.
    expect(after).toMatch(/ferry_http_requests_total\{method="GET",route="\/metrics",status="200"\} \d+/);
    expect(after).toMatch(/^ferry_process_cpu_seconds_total /m);
  });

  it("say how far behind outbound generation is", async () => {
    const call = (method: string, url: string, body?: unknown) =>
      api.current.call(p.token, method, url, body);
    const credentialId = (await call("POST", "/api/v1/credentials", { name: "lag", kind: "password" })).body
      .id;
    const c = (
      await call("POST", "/api/v1/connections", {
        name: "Lagging report",
        direction: "outbound",
        dataType: "reports",
        method: "sftp",
        methodology: "pull_from_platform",
        credentialId,
        details: { report: "action_listing" },
      })
    ).body;
    // A run for a period that ended two hours ago, and no worker here to generate it.
    const end = new Date(Date.now() - 2 * 3_600_000);
    const run = await call("POST", `/api/v1/connections/${c.id}/runs`, {
      from: new Date(end.getTime() - 86_400_000).toISOString(),
      to: end.toISOString(),
    });
    expect(run.status).toBe(202);
    const lag = value(await scrape(), "ferry_schedule_lag_seconds");
    expect(lag).toBeGreaterThanOrEqual(7200);
    expect(lag).toBeLessThan(7300);
  });
});
