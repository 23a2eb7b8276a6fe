/**
 * Conversions (actions), order-level or item-level. Enrichment: a click gives partner, campaign and ad; a
 * MediaId is the partner; a promo code gives its partner; the tracker's payout rule (or the partner's own rule
 * on it) gives the payout; the action starts PENDING, locked `lock_days` after the event.
 */

import {
  type Binding,
  type Column,
  cents,
  currency,
  fromCents,
  id,
  integer,
  isoDate,
  money,
  oneOf,
  rowValues,
  text,
} from "./columns.js";
import { RowProblem } from "./problems.js";
import { columnIndex, type InboundType, rowError, type StagedRow } from "./types.js";

/** Events older than this many days are refused; with MediaId, the longer window. */
export const EVENT_WINDOW_DAYS = 88;
export const EVENT_WINDOW_DAYS_MEDIA = 398;

export const conversionColumns: readonly Column[] = [
  { name: "CampaignId", required: true, doc: "The campaign (program) id", parse: id("CampaignId") },
  {
    name: "ActionTrackerId",
    required: true,
    doc: "The action tracker (event type) id",
    parse: id("ActionTrackerId"),
  },
  {
    name: "EventDate",
    required: true,
    doc: "When the conversion happened, ISO 8601",
    parse: isoDate("EventDate"),
  },
  {
    name: "OrderId",
    aliases: ["Oid"],
    required: true,
    doc: "Unique per action tracker, ≤ 64 characters",
    parse: text("OrderId", 64),
  },
  {
    name: "ClickId",
    aliases: ["Irclickid"],
    doc: "The click that led to the order (case-sensitive)",
    parse: text("ClickId", 128),
  },
  { name: "MediaId", aliases: ["PartnerId"], doc: "The partner id", parse: id("MediaId") },
  { name: "PromoCode", doc: "A partner's promo code", parse: text("PromoCode", 64) },
  {
    name: "Amount",
    doc: "Pre-tax, pre-shipping, post-discount amount (order level), or the item's amount",
    parse: money("Amount"),
  },
  {
    name: "CurrencyCode",
    aliases: ["Currency"],
    doc: "ISO 4217; the account's currency when empty",
    parse: currency("CurrencyCode"),
  },
  { name: "CustomerId", doc: "The customer's id at the brand", parse: text("CustomerId", 128) },
  { name: "CustomerStatus", doc: "NEW or EXISTING", parse: oneOf("CustomerStatus", ["NEW", "EXISTING"]) },
  { name: "OrderDiscount", doc: "Discount on the order", parse: money("OrderDiscount") },
  { name: "OrderShipping", doc: "Shipping cost", parse: money("OrderShipping") },
  { name: "OrderTax", doc: "Tax", parse: money("OrderTax") },
  { name: "Sku", doc: "Item level: the item's SKU", parse: text("Sku", 100) },
  { name: "Quantity", doc: "Item level: quantity (default 1)", parse: integer("Quantity", 0, 1_000_000) },
  {
    name: "ItemPrice",
    doc: "Item level: unit price (or ItemSubtotal, never both)",
    parse: money("ItemPrice"),
  },
  { name: "ItemSubtotal", doc: "Item level: price × quantity", parse: money("ItemSubtotal") },
  { name: "Category", doc: "Item level: the item's category", parse: text("Category", 200) },
  { name: "Name", doc: "Item level: the item's name", parse: text("Name", 500) },
];

const col = columnIndex(conversionColumns);
const C = {
  campaign: col("CampaignId"),
  tracker: col("ActionTrackerId"),
  date: col("EventDate"),
  order: col("OrderId"),
  click: col("ClickId"),
  media: col("MediaId"),
  promo: col("PromoCode"),
  amount: col("Amount"),
  currency: col("CurrencyCode"),
  customer: col("CustomerId"),
  status: col("CustomerStatus"),
  discount: col("OrderDiscount"),
  shipping: col("OrderShipping"),
  tax: col("OrderTax"),
  sku: col("Sku"),
  quantity: col("Quantity"),
  price: col("ItemPrice"),
  subtotal: col("ItemSubtotal"),
  category: col("Category"),
  name: col("Name"),
};

/** The order-level values of a row, in `staging` order (items added by the caller). */
function orderValues(v: (string | null)[]): (string | null)[] {
  if (v[C.click] === null && v[C.media] === null && v[C.promo] === null) {
    throw new RowProblem("MISSING_ATTRIBUTION", "One of ClickId, MediaId or PromoCode is required");
  }
  return ORDER_COLUMNS.map((i) => v[i] ?? null);
}

/** The columns staged for an order, in `staging` order. */
const ORDER_COLUMNS = [
  C.campaign,
  C.tracker,
  C.date,
  C.order,
  C.click,
  C.media,
  C.promo,
  C.amount,
  C.currency,
  C.customer,
  C.status,
  C.discount,
  C.shipping,
  C.tax,
];

/**
 * An item as staged: [sku, name, category, quantity, item_price, amount], a JSON array rather than an object
 * (the keys were 40 % of the JSON the database parsed for an item-level file).
 */
type Item = [string, string | null, string | null, number, string | null, string];

function itemOf(v: (string | null)[]): { item: Item; cents: number } {
  if (v[C.sku] === null)
    throw new RowProblem("MISSING_VALUE", "Sku is required on every row of an item-level file");
  if (v[C.price] !== null && v[C.subtotal] !== null) {
    throw new RowProblem("INVALID_ITEM", "Give ItemPrice or ItemSubtotal, never both");
  }
  const quantity = v[C.quantity] === null ? 1 : Number(v[C.quantity]);
  let amount: number;
  if (v[C.subtotal] !== null) amount = cents(v[C.subtotal]!);
  else if (v[C.price] !== null) amount = cents(v[C.price]!) * quantity;
  else if (v[C.amount] !== null) amount = cents(v[C.amount]!);
  else throw new RowProblem("MISSING_VALUE", "An item needs ItemSubtotal, ItemPrice or Amount");
  return {
    item: [
      v[C.sku]!,
      v[C.name] ?? null,
      v[C.category] ?? null,
      quantity,
      v[C.price] ?? null,
      fromCents(amount),
    ],
    cents: amount,
  };
}

export const conversions: InboundType = {
  columns: conversionColumns,
  staging: [
    ["campaign_id", "bigint"],
    ["tracker_id", "bigint"],
    ["event_date", "timestamptz"],
    ["order_id", "text"],
    ["click_id", "text"],
    ["media_id", "bigint"],
    ["promo_code", "text"],
    ["amount", "numeric(14,2)"],
    ["currency", "text"],
    ["customer_id", "text"],
    ["customer_status", "text"],
    ["order_discount", "numeric(14,2)"],
    ["order_shipping", "numeric(14,2)"],
    ["order_tax", "numeric(14,2)"],
    ["items", "jsonb"],
  ],

  stager(binding: Binding) {
    const itemLevel = binding.index[C.sku] !== -1;
    if (!itemLevel) {
      return {
        push(line, fields, emit) {
          try {
            const v = rowValues(conversionColumns, binding, fields);
            if (v[C.amount] === null) throw new RowProblem("MISSING_VALUE", "Amount is required");
            emit({ line, lastLine: line, rows: 1, error: null, values: [...orderValues(v), null] });
          } catch (err) {
            emit(rowError(line, err));
          }
        },
        flush() {},
      };
    }
    // Item level: consecutive rows of one OrderId (and tracker) are one order; its amount is the items' sum.
    let group: {
      key: string;
      line: number;
      lastLine: number;
      rows: number;
      order: (string | null)[] | null;
      items: Item[];
      total: number;
      error: { code: string; message: string } | null;
    } | null = null;
    const flush = (emit: (r: StagedRow) => void) => {
      if (!group) return;
      const g = group;
      group = null;
      if (g.error || !g.order) {
        emit({ line: g.line, lastLine: g.lastLine, rows: g.rows, error: g.error, values: null });
        return;
      }
      const values = [...g.order, JSON.stringify(g.items)];
      values[ORDER_COLUMNS.indexOf(C.amount)] = fromCents(g.total);
      emit({ line: g.line, lastLine: g.lastLine, rows: g.rows, error: null, values });
    };
    return {
      push(line, fields, emit) {
        const key = `${fields[binding.index[C.tracker]!]?.trim()}\u0000${fields[binding.index[C.order]!]?.trim()}`;
        if (group && group.key !== key) flush(emit);
        if (!group) {
          group = { key, line, lastLine: line, rows: 0, order: null, items: [], total: 0, error: null };
        }
        const g = group;
        g.lastLine = line;
        g.rows++;
        if (g.error) return;
        try {
          const v = rowValues(conversionColumns, binding, fields);
          if (!g.order) g.order = orderValues(v);
          const { item, cents: c } = itemOf(v);
          g.items.push(item);
          g.total += c;
        } catch (err) {
          const e = rowError(line, err).error!;
          g.error = {
            code: e.code,
            message: g.rows > 1 || line !== g.line ? `Line ${line}: ${e.message}` : e.message,
          };
        }
      },
      flush,
    };
  },

  async resolve(client, ctx, options) {
    // Orders given twice in the file (a hash aggregate over every row: 1–1.5 s of a million-row file), and
    // orders already recorded (a join with the account's actions: a hash of all of them for a large file,
    // 2–3 s of a million-row file against a million actions, growing with the account). When the caller trusts
    // the unique key instead (the insert looks each order up in it anyway), such an order makes the insert
    // fail, and the caller resolves again with both checks.
    const everyCheck = options?.trustUniqueKeys !== true;
    await client.query(
      `CREATE TEMP TABLE resolved ON COMMIT DROP AS
       SELECT s.line, s.last_line, s.rows, s.campaign_id, s.tracker_id, s.event_date, s.order_id, s.click_id,
              s.promo_code, s.amount, coalesce(s.currency, t.currency) AS currency, s.customer_id, s.customer_status,
              s.order_discount, s.order_shipping, s.order_tax, x.partner_id, c.ad_id,
              CASE WHEN coalesce(tp.payout_type, t.payout_type) = 'percent'
                   THEN round(s.amount * coalesce(tp.payout_value, t.payout_value) / 100, 2)
                   ELSE round(coalesce(tp.payout_value, t.payout_value), 2) END AS payout,
              s.event_date + make_interval(days => t.lock_days) AS locking_date,
              ${everyCheck ? "a.id IS NOT NULL" : "false"} AS already,
              CASE
                WHEN s.error_type IS NOT NULL THEN s.error_type
                WHEN camp.id IS NULL THEN 'UNKNOWN_CAMPAIGN'
                WHEN t.id IS NULL THEN 'UNKNOWN_ACTION_TRACKER'
                WHEN t.campaign_id <> s.campaign_id THEN 'TRACKER_NOT_IN_CAMPAIGN'
                WHEN x.partner_id IS NULL AND s.click_id IS NOT NULL THEN 'UNKNOWN_CLICK'
                WHEN x.partner_id IS NULL AND s.media_id IS NOT NULL THEN 'UNKNOWN_PARTNER'
                WHEN x.partner_id IS NULL THEN 'UNKNOWN_PROMO_CODE'
                WHEN s.event_date > now() + interval '1 hour' THEN 'EVENT_IN_FUTURE'
                WHEN s.event_date < now() - make_interval(days => CASE WHEN s.media_id IS NULL THEN $2::int ELSE $3::int END)
                  THEN 'EVENT_TOO_OLD'
                WHEN coalesce(s.currency, t.currency) <> t.currency THEN 'CURRENCY_MISMATCH'
                ${everyCheck ? "WHEN d.first_line < s.line THEN 'DUPLICATE'" : ""}
                ${everyCheck ? "WHEN a.id IS NOT NULL AND (a.transfer_id <> $4 OR a.line <> s.line) THEN 'DUPLICATE'" : ""}
              END AS error_type,
              s.error_message
       FROM stage s
       LEFT JOIN campaigns camp ON camp.account_id = $1 AND camp.id = s.campaign_id
       LEFT JOIN action_trackers t ON t.account_id = $1 AND t.id = s.tracker_id
       LEFT JOIN clicks c ON c.account_id = $1 AND c.click_id = s.click_id
       LEFT JOIN partners p ON p.account_id = $1 AND p.id = s.media_id
       LEFT JOIN promo_codes pc ON pc.account_id = $1 AND pc.code = upper(s.promo_code)
       CROSS JOIN LATERAL (SELECT coalesce(c.partner_id, p.id, pc.partner_id) AS partner_id) x
       LEFT JOIN tracker_payouts tp ON tp.tracker_id = t.id AND tp.partner_id = x.partner_id
       ${everyCheck ? "LEFT JOIN actions a ON a.account_id = $1 AND a.tracker_id = s.tracker_id AND a.order_id = s.order_id" : ""}
       ${
         everyCheck
           ? // A hash aggregate: much cheaper than a window's sort of every row.
             `LEFT JOIN (
                SELECT tracker_id, order_id, min(line) AS first_line FROM stage
                WHERE error_type IS NULL GROUP BY tracker_id, order_id HAVING count(*) > 1
              ) d ON d.tracker_id = s.tracker_id AND d.order_id = s.order_id`
           : ""
       }`,
      [ctx.accountId, EVENT_WINDOW_DAYS, EVENT_WINDOW_DAYS_MEDIA, ...(everyCheck ? [ctx.transferId] : [])],
    );
  },

  async apply(client, ctx) {
    const insert = `INSERT INTO actions (account_id, campaign_id, tracker_id, partner_id, order_id, event_date, click_id,
         promo_code, ad_id, customer_id, customer_status, currency, original_amount, amount, order_discount,
         order_shipping, order_tax, original_payout, payout, locking_date, transfer_id, line)
       SELECT $1, campaign_id, tracker_id, partner_id, order_id, event_date, click_id, upper(promo_code), ad_id,
         customer_id, customer_status, currency, amount, amount, order_discount, order_shipping, order_tax,
         payout, payout, locking_date, $2, line
       FROM resolved WHERE error_type IS NULL AND NOT already ORDER BY line`;
    // In file order, so action ids follow the lines (the joins' order depends on the plan: a small file is
    // the hash side). No ON CONFLICT (it cost a third more): an order repeated in the file, recorded before,
    // or recorded by another file in the meantime fails the insert on the unique key; the caller then resolves
    // again with every check (see resolve), which refuses it as a DUPLICATE.
    const items = await client.query("SELECT EXISTS (SELECT 1 FROM stage WHERE items IS NOT NULL) AS any");
    if (!items.rows[0].any) {
      return (await client.query(insert, [ctx.accountId, ctx.transferId])).rowCount ?? 0;
    }
    // Item level: the new actions' ids give their items a home. The items are read from the stage (not
    // copied into `resolved`, which nothing else reads them from).
    const inserted = await client.query(
      `WITH ins AS (${insert} RETURNING id, line),
       items AS (
         INSERT INTO action_items (account_id, action_id, position, sku, name, category, quantity, item_price, amount)
         SELECT $1, ins.id, i.ord, i.v->>0, i.v->>1, i.v->>2, (i.v->>3)::int, (i.v->>4)::numeric, (i.v->>5)::numeric
         FROM ins JOIN stage s ON s.line = ins.line
         CROSS JOIN LATERAL jsonb_array_elements(s.items) WITH ORDINALITY AS i(v, ord)
       )
       SELECT count(*)::int AS n FROM ins`,
      [ctx.accountId, ctx.transferId],
    );
    return inserted.rows[0].n as number;
  },

  tables: ["actions", "action_items"],
  inParts: true,

  messages: {
    UNKNOWN_CAMPAIGN: (f) => `CampaignId ${f("CampaignId")} is not a campaign of this account`,
    UNKNOWN_ACTION_TRACKER: (f) =>
      `ActionTrackerId ${f("ActionTrackerId")} is not an action tracker of this account`,
    TRACKER_NOT_IN_CAMPAIGN: (f) =>
      `ActionTrackerId ${f("ActionTrackerId")} does not belong to campaign ${f("CampaignId")}`,
    UNKNOWN_CLICK: (f) =>
      `ClickId ${f("ClickId")} is not a known click, and nothing else attributes the order`,
    UNKNOWN_PARTNER: (f) => `MediaId ${f("MediaId")} is not a partner of this account`,
    UNKNOWN_PROMO_CODE: (f) => `PromoCode ${f("PromoCode")} is not a promo code of this account`,
    EVENT_IN_FUTURE: (f) => `EventDate ${f("EventDate")} is in the future`,
    EVENT_TOO_OLD: (f) =>
      `EventDate ${f("EventDate")} is older than ${f("MediaId") ? EVENT_WINDOW_DAYS_MEDIA : EVENT_WINDOW_DAYS} days`,
    CURRENCY_MISMATCH: (f) =>
      `CurrencyCode ${f("CurrencyCode")} differs from the action tracker's currency (no conversion is made)`,
    DUPLICATE: (f) =>
      `OrderId ${f("OrderId")} is already recorded for action tracker ${f("ActionTrackerId")} (earlier in this file or in another file)`,
  },
};
