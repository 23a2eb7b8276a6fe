/** A small program to process files against: a campaign, two trackers, two partners, and inbound connections. */
import { type RecordEvent, RecordReader } from "../../src/pipeline/records.js";
import type { TestApi } from "./api.js";

export interface Program {
  accountId: string;
  token: string;
  campaignId: number;
  /** 10% of the amount, 30-day lock. */
  percentTracker: number;
  /** 5.00 per action, 0-day lock (locked at once). */
  fixedTracker: number;
  partnerA: number;
  partnerB: number;
  connections: Record<"conversions" | "clicks" | "action_modifications" | "product_catalog", string>;
}

export async function createProgram(api: TestApi): Promise<Program> {
  const { id: accountId, token } = await api.newAccount();
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await api.call(token, method, url, body);
    if (res.status >= 300) {
      const id = res.body?.error?.requestId;
      const log = id ? api.logs.filter((l) => l.includes(id)).join("\n") : "";
      throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}\n${log}`);
    }
    return res.body;
  };
  const campaign = await call("POST", "/api/v1/campaigns", { name: "Spring", currency: "USD" });
  const percent = await call("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
    name: "Online sale",
    payout: { type: "percent", value: 10 },
    lockDays: 30,
  });
  const fixed = await call("POST", `/api/v1/campaigns/${campaign.id}/trackers`, {
    name: "Lead",
    payout: { type: "fixed", value: 5 },
    lockDays: 0,
  });
  const a = await call("POST", "/api/v1/partners", { name: "Partner A", promoCodes: ["SPRING10"] });
  const b = await call("POST", "/api/v1/partners", { name: "Partner B" });
  const credentialId = (await call("POST", "/api/v1/credentials", { name: "feeds", kind: "password" })).id;
  const connections = {} as Program["connections"];
  for (const dataType of ["conversions", "clicks", "action_modifications", "product_catalog"] as const) {
    connections[dataType] = (
      await call("POST", "/api/v1/connections", {
        name: dataType,
        direction: "inbound",
        dataType,
        method: "sftp",
        methodology: "push_to_platform",
        credentialId,
      })
    ).id;
  }
  return {
    accountId,
    token,
    campaignId: campaign.id,
    percentTracker: percent.id,
    fixedTracker: fixed.id,
    partnerA: a.id,
    partnerB: b.id,
    connections,
  };
}

/** An ISO date `days` ago. */
export function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
}

/** Receives and processes a file through one of the program's connections; returns transfer, summary, errors. */
export function fileRunner(api: { current: TestApi }, program: () => Program) {
  const text = async (transferId: string, kind: string): Promise<string> => {
    const res = await api.current.app.inject({
      method: "GET",
      url: `/api/v1/transfers/${transferId}/results/${kind}`,
      headers: { authorization: `Bearer ${program().token}` },
    });
    if (res.statusCode !== 200) throw new Error(`${kind}: ${res.statusCode}`);
    return res.body;
  };
  return async (kind: keyof Program["connections"], name: string, content: string | Buffer) => {
    const p = program();
    const received = await api.current.receive(
      { accountId: p.accountId, connectionId: p.connections[kind] },
      name,
      content,
    );
    await api.current.process(received.transferId);
    const transfer = (await api.current.call(p.token, "GET", `/api/v1/transfers/${received.transferId}`))
      .body;
    const summary = JSON.parse(await text(received.transferId, "summary"));
    const errors: string | null = summary.errorsFile ? await text(received.transferId, "errors") : null;
    const receipt = await text(received.transferId, "receipt");
    return { transfer, summary, errors, receipt };
  };
}

/** The data rows of a CSV text. */
export function csvRows(csv: string | null): string[][] {
  const rows: string[][] = [];
  const reader = new RecordReader(",", 1e7);
  const emit = (e: RecordEvent) => {
    if (e.kind === "record") rows.push(e.fields);
  };
  reader.push(csv ?? "", emit);
  reader.end(emit);
  return rows.slice(1);
}

/** An errors file as [line, ErrorType] pairs. */
export const errorTypes = (csv: string | null) => csvRows(csv).map((f) => [Number(f[0]), f[f.length - 2]]);

/** An outbound SFTP report connection (a credential of its own), through `call`; the created connection. */
export async function outboundReport(
  call: (method: string, url: string, body?: unknown) => Promise<any>,
  name: string,
  details: Record<string, unknown>,
) {
  const credentialId = (await call("POST", "/api/v1/credentials", { name: `out ${name}`, kind: "password" }))
    .id;
  return call("POST", "/api/v1/connections", {
    name,
    direction: "outbound",
    dataType: "reports",
    method: "sftp",
    methodology: "pull_from_platform",
    credentialId,
    details,
  });
}
