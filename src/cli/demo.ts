/**
 * `ferry demo`: a realistic program in the caller's account, through the API like any user — a campaign with
 * two action trackers, five partners (promo codes, one with its own payout), ~10k clicks (uploaded as a file
 * and processed like any other), an SFTP credential and one inbound connection per data type, an outbound
 * report with its first file generated — and sample files of every type in examples/, ready to upload; it ends
 * with commands to copy (this server's SFTP port, host and login). Running it again reuses what exists.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Command } from "commander";
import {
  catalogCsvLines,
  catalogXmlLines,
  clickId,
  clickLines,
  conversionLines,
  itemLines,
  modificationLines,
  text,
} from "../demo/samples.js";
import type { ApiClient } from "./client.js";
import { allPages, client, type Obj } from "./helpers.js";
import { printJson } from "./output.js";

const CAMPAIGN = "Demo: Spring Sale";
const PARTNERS = [
  ["Outdoor Reviews Weekly", "HIKE10"],
  ["Trail Coupons", "TRAIL5"],
  ["Gear Deals Daily", null],
  ["Mountain Blog", "PEAK15"],
  ["Cashback Club", null],
] as const;
const REPORT = "Demo daily report";
const TYPES = [
  ["conversions", "Demo conversions"],
  ["clicks", "Demo clicks"],
  ["action_modifications", "Demo action modifications"],
  ["product_catalog", "Demo product catalog"],
] as const;

export async function runDemo(cmd: Command, options: { dir: string; clicks: number }): Promise<void> {
  const { api, json } = client(cmd);
  // With --json, one object at the end instead of these lines.
  const say = (line = "") => json || process.stdout.write(`${line}\n`);
  const campaigns = await allPages(api, "/api/v1/campaigns", {});
  const existing = campaigns.find((c) => c.name === CAMPAIGN);
  const campaign = existing ?? (await api.request<Obj>("POST", "/api/v1/campaigns", { name: CAMPAIGN }));
  const campaignId = campaign.id as number;
  let trackers = (await api.request<{ items: Obj[] }>("GET", `/api/v1/campaigns/${campaignId}/trackers`))
    .items;
  if (trackers.length === 0) {
    trackers = [
      await api.request<Obj>("POST", `/api/v1/campaigns/${campaignId}/trackers`, {
        name: "Online Sale",
        payout: { type: "percent", value: 8 },
        lockDays: 30,
      }),
      await api.request<Obj>("POST", `/api/v1/campaigns/${campaignId}/trackers`, {
        name: "Newsletter Signup",
        payout: { type: "fixed", value: 2.5 },
        lockDays: 14,
      }),
    ];
  }
  const sale = trackers[0]!.id as number;
  let partners = (await allPages(api, "/api/v1/partners", {})).filter((p) =>
    PARTNERS.some(([n]) => n === p.name),
  );
  if (partners.length === 0) {
    for (const [name, code] of PARTNERS) {
      partners.push(
        await api.request<Obj>("POST", "/api/v1/partners", { name, promoCodes: code ? [code] : [] }),
      );
    }
    // The first partner earns 10% instead of 8% on online sales.
    await api.request("PUT", `/api/v1/trackers/${sale}/partners/${partners[0]!.id}`, {
      type: "percent",
      value: 10,
    });
  }
  partners = partners.sort((a, b) => Number(a.id) - Number(b.id));

  const connections = await allPages(api, "/api/v1/connections", {});
  const mine = new Map<string, Obj>();
  let credential: Obj | null = null;
  for (const [dataType, name] of TYPES) {
    let c = connections.find((x) => x.name === name);
    if (!c) {
      credential ??= await api.request<Obj>("POST", "/api/v1/credentials", {
        name: "Demo feeds",
        kind: "password",
      });
      c = await api.request<Obj>("POST", "/api/v1/connections", {
        name,
        direction: "inbound",
        dataType,
        method: "sftp",
        methodology: "push_to_platform",
        credentialId: credential.id,
      });
    }
    mine.set(dataType, c);
  }
  // An outbound feed too, with a first file ready in its outbox: yesterday's action listing, generated now.
  const credentialId = (credential?.id ?? mine.get("conversions")!.credentialId) as string;
  const report =
    connections.find((x) => x.name === REPORT) ??
    (await api.request<Obj>("POST", "/api/v1/connections", {
      name: REPORT,
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId,
      details: { report: "action_listing", schedule: { frequency: "daily", time: "06:00" } },
    }));

  const prefix = "demo-clk-";
  if (!existing) {
    say(`Creating ${options.clicks} clicks (uploaded as a file and processed like any other)…`);
    const clicks = text(
      clickLines({
        campaignId,
        partnerIds: partners.map((p) => p.id as number),
        count: options.clicks,
        prefix,
      }),
    );
    const transfer = await api.upload<Obj>(
      `/api/v1/connections/${mine.get("clicks")!.id}/files?name=demo_clicks.csv`,
      Readable.toWeb(Readable.from([Buffer.from(clicks)])) as ReadableStream<Uint8Array>,
      Buffer.byteLength(clicks),
    );
    const done = await waitProcessed(api, transfer.id as string);
    say(`  clicks: ${JSON.stringify(done.rows)} (${done.status})`);
  }

  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const clickIds = (n: number) => clickId(prefix, n);
  const common = { campaignId, trackerId: sale, clickIds, clickCount: Math.min(options.clicks, 10_000) };
  const files: [string, Iterable<string>][] = [
    ["conversions.csv", conversionLines({ ...common, count: 500, promo: { code: "HIKE10", every: 10 } })],
    ["conversions_items.csv", itemLines({ ...common, count: 50 })],
    [
      "action_modifications.csv",
      modificationLines({ trackerId: sale, orders: Array.from({ length: 30 }, (_, i) => i + 1) }),
    ],
    [
      "clicks.csv",
      clickLines({
        campaignId,
        partnerIds: partners.map((p) => p.id as number),
        count: 100,
        prefix: "demo-new-",
        seed: 9,
      }),
    ],
    ["catalog.csv", catalogCsvLines(1000)],
    ["catalog.xml", catalogXmlLines(200)],
    [
      "conversions_with_errors.csv",
      [
        "CampaignId,ActionTrackerId,EventDate,OrderId,ClickId,Amount,CurrencyCode\n",
        `${campaignId},${sale},2026-02-30T10:00:00Z,ERR-1,${clickIds(1)},10.00,USD\n`,
        `${campaignId},${sale},${new Date().toISOString()},ERR-2,${clickIds(2)},ten,USD\n`,
        `${campaignId},${sale},${new Date().toISOString()},ERR-3,no-such-click,10.00,USD\n`,
        `999,${sale},${new Date().toISOString()},ERR-4,${clickIds(4)},10.00,USD\n`,
        `${campaignId},${sale},${new Date().toISOString()},ERR-5,${clickIds(5)},12.00,USD\n`,
      ],
    ],
  ];
  for (const [name, lines] of files) await writeFile(path.join(dir, name), text(lines));

  const run = await api.request<Obj>("POST", `/api/v1/connections/${report.id}/runs`, {});
  const generated = await waitGenerated(api, report.id as string, run.id as string);
  const reportFile = await api.request<Obj>("GET", `/api/v1/transfers/${generated.transferId}`);

  const sample = mine.get("conversions")!;
  // sftp://login@host:port/folder/ → what to type.
  const at = /^sftp:\/\/([^@]+)@(.+):(\d+)\//.exec(String(sample.address ?? ""));
  const sftp = at ? `sftp -P ${at[3]} ${at[1]}@${at[2]}` : "sftp -P <sftp port> <login>@<host>";
  say();
  say(`Demo program in your account: campaign ${campaignId} "${CAMPAIGN}"`);
  say(`  action trackers: ${trackers.map((t) => `${t.id} ${t.name}`).join(", ")}`);
  say(`  partners: ${partners.map((p) => `${p.id} ${p.name}`).join(", ")}`);
  say("  connections (SFTP, push to platform):");
  for (const [type] of TYPES) say(`    ${type.padEnd(22)} ${mine.get(type)!.address}`);
  if (credential) {
    say();
    say(`SFTP login: ${credential.username}`);
    say(`password:   ${credential.password}   (copy it now: it is never shown again)`);
  } else {
    say();
    say('SFTP login: the "Demo feeds" credential (ferry credentials reset <id> gives it a new password)');
  }
  say();
  say(`Sample files in ${dir}:`);
  for (const [name] of files) say(`  ${name}`);
  say();
  const conversions = path.join(dir, "conversions.csv");
  say("Try it (the SFTP password is above; ferry credentials reset <credential id> gives a new one):");
  say(`  ${sftp}`);
  say(`    sftp> put ${conversions} /${sample.folder}/inbox/`);
  say(`    sftp> ls /${sample.folder}/results/            (receipt, summary, errors, within seconds)`);
  say(`  npx ferry transfers upload --connection ${sample.id} ${conversions}`);
  say(`  npx ferry transfers list --connection ${sample.id}`);
  say();
  say(
    `An outbound feed, "${REPORT}", has its first file ready (yesterday's actions; daily at 06:00 from now on):`,
  );
  say(`    sftp> get /${report.folder}/outbox/${reportFile.fileName}`);
  say(`  npx ferry transfers download ${reportFile.id}`);
  if (json)
    printJson({
      campaignId,
      trackers: trackers.map((t) => ({ id: t.id, name: t.name })),
      partners: partners.map((p) => ({ id: p.id, name: p.name })),
      connections: Object.fromEntries(
        [...mine].map(([type, c]) => [type, { id: c.id, folder: c.folder, address: c.address }]),
      ),
      credential: credential
        ? { id: credential.id, username: credential.username, password: credential.password }
        : { id: credentialId },
      files: files.map(([name]) => path.join(dir, name)),
      report: {
        connectionId: report.id,
        transferId: reportFile.id,
        fileName: reportFile.fileName,
        folder: report.folder,
      },
    });
}

/** Waits for a run to be generated (a worker does it); its transfer is the file. */
async function waitGenerated(api: ApiClient, connectionId: string, runId: string): Promise<Obj> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const runs = await api.request<{ items: Obj[] }>("GET", `/api/v1/connections/${connectionId}/runs`);
    const run = runs.items.find((r) => r.id === runId);
    if (run?.status === "generated") return run;
    if (run?.status === "failed") throw new Error(`The demo report could not be generated: ${run.error}`);
    if (Date.now() > deadline)
      throw new Error(
        "The demo report is still pending after 2 minutes: is a worker running (FERRY_WORKERS)?",
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitProcessed(api: ApiClient, transferId: string): Promise<Obj> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const t = await api.request<Obj>("GET", `/api/v1/transfers/${transferId}`);
    if (["processed", "partial", "rejected", "validated", "failed"].includes(String(t.status))) return t;
    if (Date.now() > deadline) {
      throw new Error(
        `transfer ${transferId} is still ${t.status} after 3 minutes: is a worker running (FERRY_WORKERS)?`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
