/** Clicks: upserted by ClickId; conversions find their partner, campaign and ad through them. */
import net from "node:net";
import { type Column, id, isoDate, rowValues, text } from "./columns.js";
import { RowProblem } from "./problems.js";
import { type InboundType, lineStager } from "./types.js";

export const clickColumns: readonly Column[] = [
  {
    name: "ClickId",
    required: true,
    doc: "Unique click id (case-sensitive), ≤ 128 characters",
    parse: text("ClickId", 128),
  },
  { name: "CampaignId", required: true, doc: "The campaign", parse: id("CampaignId") },
  { name: "MediaId", aliases: ["PartnerId"], required: true, doc: "The partner", parse: id("MediaId") },
  { name: "AdId", doc: "The ad clicked", parse: id("AdId") },
  { name: "EventDate", required: true, doc: "When, ISO 8601", parse: isoDate("EventDate") },
  { name: "IpAddress", aliases: ["Ip"], doc: "The visitor's IP address", parse: ip },
  { name: "UserAgent", doc: "The browser's user agent", parse: text("UserAgent", 1000) },
  {
    name: "ReferringUrl",
    aliases: ["Referrer"],
    doc: "The page the click came from",
    parse: text("ReferringUrl", 2000),
  },
  { name: "LandingPageUrl", doc: "The page the click led to", parse: text("LandingPageUrl", 2000) },
  { name: "SubId1", doc: "Partner's sub id", parse: text("SubId1", 256) },
  { name: "SubId2", doc: "Partner's sub id", parse: text("SubId2", 256) },
  { name: "SubId3", doc: "Partner's sub id", parse: text("SubId3", 256) },
];

function ip(raw: string): string {
  if (net.isIP(raw) === 0) {
    throw new RowProblem(
      "INVALID_IP",
      `IpAddress must be an IPv4 or IPv6 address, not ${JSON.stringify(raw.slice(0, 50))}`,
    );
  }
  return raw;
}

export const clicks: InboundType = {
  columns: clickColumns,
  staging: [
    ["click_id", "text"],
    ["campaign_id", "bigint"],
    ["partner_id", "bigint"],
    ["ad_id", "bigint"],
    ["event_date", "timestamptz"],
    ["ip_address", "text"],
    ["user_agent", "text"],
    ["referring_url", "text"],
    ["landing_page_url", "text"],
    ["sub_id1", "text"],
    ["sub_id2", "text"],
    ["sub_id3", "text"],
  ],
  stager: (binding) => lineStager(binding, (fields) => rowValues(clickColumns, binding, fields)),

  async resolve(client, ctx) {
    await client.query(
      `CREATE TEMP TABLE resolved ON COMMIT DROP AS
       SELECT s.line, s.last_line, s.rows, s.click_id, s.campaign_id, s.partner_id, s.ad_id, s.event_date,
         s.ip_address, s.user_agent, s.referring_url, s.landing_page_url, s.sub_id1, s.sub_id2, s.sub_id3,
         s.error_message,
         CASE
           WHEN s.error_type IS NOT NULL THEN s.error_type
           WHEN camp.id IS NULL THEN 'UNKNOWN_CAMPAIGN'
           WHEN p.id IS NULL THEN 'UNKNOWN_PARTNER'
           WHEN s.event_date > now() + interval '1 hour' THEN 'EVENT_IN_FUTURE'
           WHEN row_number() OVER (PARTITION BY s.click_id ORDER BY s.line DESC) > 1 THEN 'DUPLICATE'
         END AS error_type
       FROM stage s
       LEFT JOIN campaigns camp ON camp.account_id = $1 AND camp.id = s.campaign_id
       LEFT JOIN partners p ON p.account_id = $1 AND p.id = s.partner_id`,
      [ctx.accountId],
    );
    // Temporary tables are never analysed automatically; without statistics, apply's joins plan badly.
    await client.query("ANALYZE resolved");
  },

  async apply(client, ctx) {
    const r = await client.query(
      `INSERT INTO clicks AS c (account_id, click_id, campaign_id, partner_id, ad_id, event_date, ip_address,
         user_agent, referring_url, landing_page_url, sub_id1, sub_id2, sub_id3, transfer_id)
       SELECT $1, click_id, campaign_id, partner_id, ad_id, event_date, ip_address::inet, user_agent, referring_url,
         landing_page_url, sub_id1, sub_id2, sub_id3, $2
       FROM resolved WHERE error_type IS NULL
       ON CONFLICT (account_id, click_id) DO UPDATE SET campaign_id = excluded.campaign_id,
         partner_id = excluded.partner_id, ad_id = excluded.ad_id, event_date = excluded.event_date,
         ip_address = excluded.ip_address, user_agent = excluded.user_agent, referring_url = excluded.referring_url,
         landing_page_url = excluded.landing_page_url, sub_id1 = excluded.sub_id1, sub_id2 = excluded.sub_id2,
         sub_id3 = excluded.sub_id3, transfer_id = excluded.transfer_id, updated_at = now()`,
      [ctx.accountId, ctx.transferId],
    );
    return r.rowCount ?? 0;
  },

  tables: ["clicks"],

  messages: {
    UNKNOWN_CAMPAIGN: (f) => `CampaignId ${f("CampaignId")} is not a campaign of this account`,
    UNKNOWN_PARTNER: (f) => `MediaId ${f("MediaId")} is not a partner of this account`,
    EVENT_IN_FUTURE: (f) => `EventDate ${f("EventDate")} is in the future`,
    DUPLICATE: (f) => `ClickId ${f("ClickId")} appears again later in this file; the later row is taken`,
  },
};
