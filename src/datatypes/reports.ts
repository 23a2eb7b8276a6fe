/**
 * Outbound reports, as data: each a SELECT over the platform's data for one account, one period and optional
 * campaign/partner filters, with the column names files carry. Generation (pipeline/generate.ts) runs it as
 * `COPY (…) TO STDOUT`, so PostgreSQL formats and streams the rows.
 *
 * COPY takes no bind parameters: every value put in the SQL here is a literal escaped by the caller
 * (`lit`), or a number checked to be an integer.
 */

export interface ReportQuery {
  accountId: string;
  from: Date;
  to: Date;
  campaignIds: number[];
  partnerIds: number[];
}

/** Escapes a literal (the pg client's escapeLiteral). */
export type Literal = (value: string) => string;

const ints = (xs: number[]) => xs.map((x) => String(Math.trunc(Number(x)))).join(",");
/** ISO 8601 with a full offset (+00:00, +05:30) in the account's time zone: JavaScript's Date reads it (not +00). */
const iso = (col: string) => `to_char(${col}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')`;

function filters(
  q: ReportQuery,
  lit: Literal,
  alias: string,
  campaign = "campaign_id",
  partner = "partner_id",
) {
  return [
    `${alias}.account_id = ${lit(q.accountId)}::uuid`,
    q.campaignIds.length ? `${alias}.${campaign} IN (${ints(q.campaignIds)})` : "true",
    q.partnerIds.length ? `${alias}.${partner} IN (${ints(q.partnerIds)})` : "true",
  ].join(" AND ");
}

const period = (q: ReportQuery, lit: Literal, col: string) =>
  `${col} >= ${lit(q.from.toISOString())}::timestamptz AND ${col} < ${lit(q.to.toISOString())}::timestamptz`;

const ACTION_COLUMNS = `a.id AS "ActionId", a.campaign_id AS "CampaignId", c.name AS "CampaignName",
  a.tracker_id AS "ActionTrackerId", t.name AS "ActionTrackerName", a.partner_id AS "MediaId", p.name AS "MediaName",
  a.state AS "State", ${iso("a.locking_date")} AS "LockingDate", ${iso("a.event_date")} AS "EventDate",
  a.order_id AS "OrderId", a.amount AS "Amount", a.payout AS "Payout", a.currency AS "Currency",
  a.click_id AS "ClickId", a.promo_code AS "PromoCode", a.customer_status AS "CustomerStatus",
  a.last_reason AS "LastModificationReason"`;

const ACTION_JOINS = `JOIN campaigns c ON c.id = a.campaign_id JOIN action_trackers t ON t.id = a.tracker_id
  JOIN partners p ON p.id = a.partner_id`;

export const REPORT_SQL: Record<string, (q: ReportQuery, lit: Literal) => string> = {
  /** One row per action of the period (by event date), with its enrichment. */
  action_listing: (q, lit) => `SELECT ${ACTION_COLUMNS}
    FROM actions a ${ACTION_JOINS}
    WHERE ${filters(q, lit, "a")} AND ${period(q, lit, "a.event_date")}
    ORDER BY a.id`,

  /**
   * The actions created or changed in the period, with the change since the period's start: an action new
   * in the period changes from 0; otherwise from its values after its last modification before the period.
   */
  action_updates: (q, lit) => `SELECT ${ACTION_COLUMNS},
      a.amount - prev.amount AS "DeltaAmount", a.payout - prev.payout AS "DeltaPayout",
      ${iso("a.updated_at")} AS "UpdatedAt"
    FROM actions a ${ACTION_JOINS}
    CROSS JOIN LATERAL (
      SELECT CASE WHEN a.created_at >= ${lit(q.from.toISOString())}::timestamptz THEN 0
                  ELSE coalesce(m.new_amount, a.original_amount) END AS amount,
             CASE WHEN a.created_at >= ${lit(q.from.toISOString())}::timestamptz THEN 0
                  ELSE coalesce(m.new_payout, a.original_payout) END AS payout
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (
        SELECT new_amount, new_payout FROM action_modifications
        WHERE action_id = a.id AND created_at < ${lit(q.from.toISOString())}::timestamptz
        ORDER BY id DESC LIMIT 1
      ) m ON true
    ) prev
    WHERE ${filters(q, lit, "a")} AND ${period(q, lit, "a.updated_at")}
    ORDER BY a.updated_at, a.id`,

  /** Per partner: clicks, actions, sale amount, payout, bonuses, reversals, conversion rate, EPC, in the period. */
  performance_by_partner: (q, lit) => `WITH k AS (
      SELECT partner_id, count(*) AS clicks FROM clicks x
      WHERE ${filters(q, lit, "x")} AND ${period(q, lit, "x.event_date")} GROUP BY partner_id
    ), s AS (
      SELECT partner_id,
        count(*) FILTER (WHERE state <> 'REVERSED') AS actions,
        coalesce(sum(amount) FILTER (WHERE state <> 'REVERSED'), 0) AS sale,
        coalesce(sum(payout) FILTER (WHERE state <> 'REVERSED'), 0) AS payout,
        count(*) FILTER (WHERE state = 'REVERSED') AS reversals,
        coalesce(sum(original_amount) FILTER (WHERE state = 'REVERSED'), 0) AS reversed
      FROM actions y WHERE ${filters(q, lit, "y")} AND ${period(q, lit, "y.event_date")} GROUP BY partner_id
    )
    SELECT p.id AS "MediaId", p.name AS "MediaName", coalesce(k.clicks, 0) AS "Clicks",
      coalesce(s.actions, 0) AS "Actions", coalesce(s.sale, 0) AS "SaleAmount", coalesce(s.payout, 0) AS "Payout",
      coalesce(o.bonus, 0.00) AS "OtherCost", coalesce(s.reversals, 0) AS "Reversals",
      coalesce(s.reversed, 0) AS "ReversedAmount",
      CASE WHEN coalesce(k.clicks, 0) = 0 THEN NULL ELSE round(coalesce(s.actions, 0)::numeric / k.clicks, 4) END
        AS "ConversionRate",
      CASE WHEN coalesce(k.clicks, 0) = 0 THEN NULL ELSE round(coalesce(s.payout, 0) / k.clicks, 4) END AS "EPC"
    FROM partners p LEFT JOIN k ON k.partner_id = p.id LEFT JOIN s ON s.partner_id = p.id
    -- Other cost: the performance bonuses the period earns (the bonus detail report, summed per partner).
    LEFT JOIN (
      SELECT "MediaId" AS partner_id, sum("BonusAmount") AS bonus
      FROM (${REPORT_SQL.performance_bonus_detail!(q, lit)}) b GROUP BY "MediaId"
    ) o ON o.partner_id = p.id
    WHERE p.account_id = ${lit(q.accountId)}::uuid AND (k.partner_id IS NOT NULL OR s.partner_id IS NOT NULL)
    ORDER BY p.id`,

  /**
   * Performance bonus detail: per partner, campaign and bonus rule, the period's locked, non-reversed actions
   * (count and revenue), the highest tier reached and the bonus it earns.
   */
  performance_bonus_detail: (q, lit) => `WITH acts AS (
      SELECT a.partner_id, a.campaign_id, a.amount, a.currency,
        row_number() OVER (PARTITION BY a.partner_id, a.campaign_id ORDER BY a.event_date, a.id) AS rn
      FROM actions a
      WHERE ${filters(q, lit, "a")} AND ${period(q, lit, "a.event_date")}
        AND a.state <> 'REVERSED' AND a.locking_date <= now()
    ), per AS (
      SELECT r.id AS rule_id, r.name AS rule_name, r.kind, r.basis, r.tiers, x.partner_id, x.campaign_id,
        min(x.currency) AS currency, count(*) AS actions, sum(x.amount) AS revenue
      FROM bonus_rules r JOIN acts x ON x.campaign_id = r.campaign_id
      WHERE r.account_id = ${lit(q.accountId)}::uuid
      GROUP BY r.id, x.partner_id, x.campaign_id
    ), tiered AS (
      SELECT per.*, coalesce((
        SELECT max(t.ord) FROM jsonb_array_elements(per.tiers) WITH ORDINALITY AS t(v, ord)
        WHERE (t.v->>'from')::numeric <= CASE per.basis WHEN 'actions' THEN per.actions ELSE per.revenue END
      ), 0) AS tier
      FROM per
    )
    SELECT p.id AS "MediaId", p.name AS "MediaName", x.campaign_id AS "CampaignId", x.rule_id AS "RuleId",
      x.rule_name AS "RuleName", x.basis AS "Basis", x.kind AS "Kind", x.actions AS "ActionsCounted",
      x.revenue AS "Revenue", x.tier AS "TierReached",
      round(CASE
        WHEN x.tier = 0 THEN 0
        WHEN x.kind = 'fixed' THEN (x.tiers -> (x.tier::int - 1) ->> 'value')::numeric
        WHEN x.kind = 'raise_all' THEN x.revenue * (x.tiers -> (x.tier::int - 1) ->> 'value')::numeric / 100
        WHEN x.basis = 'revenue' THEN (
          -- Each band of revenue between a tier's threshold and the next pays that tier's percentage.
          SELECT sum((t.v->>'value')::numeric / 100 * greatest(0, least(x.revenue,
            coalesce((x.tiers -> t.ord::int ->> 'from')::numeric, x.revenue)) - (t.v->>'from')::numeric))
          FROM jsonb_array_elements(x.tiers) WITH ORDINALITY AS t(v, ord))
        ELSE (
          -- Each action past a tier's threshold (by count, in event order) pays that tier's percentage.
          SELECT coalesce(sum(y.amount * coalesce((
            SELECT (t.v->>'value')::numeric FROM jsonb_array_elements(x.tiers) WITH ORDINALITY AS t(v, ord)
            WHERE (t.v->>'from')::numeric < y.rn ORDER BY t.ord DESC LIMIT 1), 0) / 100), 0)
          FROM acts y WHERE y.partner_id = x.partner_id AND y.campaign_id = x.campaign_id)
      END, 2) AS "BonusAmount",
      x.currency AS "Currency"
    FROM tiered x JOIN partners p ON p.id = x.partner_id
    ORDER BY p.id, x.campaign_id, x.rule_id`,
};
