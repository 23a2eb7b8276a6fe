/**
 * Action modifications and reversals. An action is found by ActionId, or by OrderId + ActionTrackerId (the
 * newest). Amount is the new total (0 reverses); item-level rows (Sku) change one item's quantity or amount.
 * The payout is recomputed with the rule in force now; locked actions refuse changes; every change is kept in
 * action_modifications. Actions changed once (the usual file) change in one statement; the rest row by row in
 * file order, since later rows see earlier ones' effect.
 */

import { type Column, id, integer, money, oneOf, rowValues, text } from "./columns.js";
import { RowProblem } from "./problems.js";
import { columnIndex, type InboundType, lineStager } from "./types.js";

export const REASONS = [
  "CONS_FRAUD",
  "CONS_ERROR",
  "ITEM_RETURNED",
  "APPROVED",
  "ORDER_ERROR",
  "ORDER_UPDATE",
  "PUB_ACT_DISPUTE",
  "ADV_ACT_DISPUTE",
  "NOT_COMPLIANCE_TERMS",
  "ITEM_OUT_OF_STOCK",
  "TEST_ACTION",
  "RESET",
] as const;

/** At most this many modifications per action. */
export const MAX_MODIFICATIONS = 1000;

export const modificationColumns: readonly Column[] = [
  { name: "ActionId", doc: "The action's id (or OrderId + ActionTrackerId)", parse: id("ActionId") },
  {
    name: "OrderId",
    aliases: ["Oid"],
    doc: "The order id, with ActionTrackerId",
    parse: text("OrderId", 64),
  },
  { name: "ActionTrackerId", doc: "The action tracker, with OrderId", parse: id("ActionTrackerId") },
  {
    name: "Amount",
    doc: "The new total (0 reverses), or the item's new amount with Sku",
    parse: money("Amount"),
  },
  { name: "Reason", required: true, doc: `One of ${REASONS.join(", ")}`, parse: oneOf("Reason", REASONS) },
  {
    name: "DispositionCode",
    doc: "The account's own code for the change",
    parse: text("DispositionCode", 64),
  },
  { name: "Sku", doc: "Item level: the item changed", parse: text("Sku", 100) },
  {
    name: "Quantity",
    doc: "Item level: the new quantity (0 reverses the item)",
    parse: integer("Quantity", 0, 1_000_000),
  },
];

const col = columnIndex(modificationColumns);
const C = {
  action: col("ActionId"),
  order: col("OrderId"),
  tracker: col("ActionTrackerId"),
  amount: col("Amount"),
  reason: col("Reason"),
  disposition: col("DispositionCode"),
  sku: col("Sku"),
  quantity: col("Quantity"),
};

function values(v: (string | null)[]): (string | null)[] {
  if (v[C.action] === null && (v[C.order] === null || v[C.tracker] === null)) {
    throw new RowProblem("MISSING_IDENTIFIER", "Give ActionId, or OrderId with ActionTrackerId");
  }
  const reason = v[C.reason]!;
  if (v[C.sku] !== null) {
    if (v[C.amount] === null && v[C.quantity] === null) {
      throw new RowProblem("MISSING_VALUE", "An item change needs Quantity or Amount");
    }
  } else if (v[C.quantity] !== null) {
    throw new RowProblem("MISSING_VALUE", "Quantity is for item changes: give the Sku too");
  } else if (v[C.amount] === null && reason !== "RESET" && reason !== "APPROVED") {
    throw new RowProblem(
      "MISSING_VALUE",
      "Amount (the new total) is required, except for RESET and APPROVED",
    );
  }
  return [C.action, C.order, C.tracker, C.amount, C.reason, C.disposition, C.sku, C.quantity].map(
    (i) => v[i] ?? null,
  );
}

/**
 * The statement that applies changes to actions: `changes` selects (line, target, reason, disposition_code,
 * amount: the new total or null, items: the changed items or null), at most one per action; $1 is the
 * account, $2 the transfer. Each action is locked, its amount, payout and state computed (the payout with the
 * rule in force now) and the change kept in action_modifications with the values before and after.
 */
function modify(changes: string): string {
  return `WITH changes AS (${changes}),
    cur AS (
      SELECT c.line, c.reason, c.disposition_code, c.amount AS given, c.items, a.id, a.amount, a.payout, a.state,
             a.original_amount, a.original_payout,
             coalesce(tp.payout_type, t.payout_type) AS ptype, coalesce(tp.payout_value, t.payout_value) AS pvalue
      FROM changes c JOIN actions a ON a.id = c.target AND a.account_id = $1
      JOIN action_trackers t ON t.id = a.tracker_id
      LEFT JOIN tracker_payouts tp ON tp.tracker_id = a.tracker_id AND tp.partner_id = a.partner_id
      FOR UPDATE OF a
    ), next AS (
      SELECT cur.*, CASE WHEN reason = 'RESET' THEN original_amount ELSE coalesce(given, amount) END AS new_amount
      FROM cur
    ), calc AS (
      SELECT next.*,
        CASE WHEN reason = 'RESET' THEN original_payout WHEN new_amount = 0 THEN 0
             WHEN ptype = 'percent' THEN round(new_amount * pvalue / 100, 2) ELSE round(pvalue, 2) END AS new_payout,
        CASE WHEN reason = 'RESET' THEN 'PENDING' WHEN new_amount = 0 AND amount > 0 THEN 'REVERSED'
             WHEN reason = 'APPROVED' THEN 'APPROVED' WHEN state = 'REVERSED' AND new_amount > 0 THEN 'PENDING'
             ELSE state END AS new_state
      FROM next
    ), upd AS (
      UPDATE actions a SET amount = calc.new_amount, payout = calc.new_payout, state = calc.new_state,
        modification_count = a.modification_count + 1, last_reason = calc.reason, updated_at = now()
      FROM calc WHERE a.id = calc.id
    )
    INSERT INTO action_modifications (account_id, action_id, reason, disposition_code, old_amount, new_amount,
      old_payout, new_payout, old_state, new_state, items, transfer_id, line)
    SELECT $1, id, reason, disposition_code, amount, new_amount, payout, new_payout, state, new_state, items, $2, line
    FROM calc ORDER BY line`;
}

export const actionModifications: InboundType = {
  columns: modificationColumns,
  staging: [
    ["action_id", "bigint"],
    ["order_id", "text"],
    ["tracker_id", "bigint"],
    ["amount", "numeric(14,2)"],
    ["reason", "text"],
    ["disposition_code", "text"],
    ["sku", "text"],
    ["quantity", "int"],
  ],
  stager: (binding) =>
    lineStager(binding, (fields) => values(rowValues(modificationColumns, binding, fields))),

  async resolve(client, ctx) {
    await client.query(
      `CREATE TEMP TABLE resolved ON COMMIT DROP AS
       SELECT s.line, s.last_line, s.rows, s.amount, s.reason, s.disposition_code, s.sku, s.quantity,
              s.error_message, a.id AS target,
         CASE
           WHEN s.error_type IS NOT NULL THEN s.error_type
           WHEN a.id IS NULL THEN 'UNKNOWN_ACTION'
           WHEN a.locking_date <= now() THEN 'ACTION_LOCKED'
           WHEN a.modification_count
                + count(*) OVER (PARTITION BY a.id ORDER BY s.line) > $2 THEN 'TOO_MANY_MODIFICATIONS'
           WHEN s.sku IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM action_items i WHERE i.action_id = a.id AND i.sku = s.sku) THEN 'UNKNOWN_ITEM'
         END AS error_type
       FROM stage s
       LEFT JOIN LATERAL (
         SELECT x.id, x.locking_date, x.modification_count FROM actions x
         WHERE x.account_id = $1 AND (
           (s.action_id IS NOT NULL AND x.id = s.action_id)
           OR (s.action_id IS NULL AND x.tracker_id = s.tracker_id AND x.order_id = s.order_id))
         ORDER BY x.id DESC LIMIT 1
       ) a ON true`,
      [ctx.accountId, MAX_MODIFICATIONS],
    );
    // Temporary tables are never analysed automatically; without statistics, apply's joins plan badly.
    await client.query("ANALYZE resolved");
  },

  async apply(client, ctx) {
    // Changes applied one by one, in file order: those of an action changed more than once in the file (each
    // sees the one before) and item changes (an item's change makes the action's new total).
    await client.query(
      `CREATE TEMP TABLE sequential ON COMMIT DROP AS
       SELECT line, target, amount, reason, disposition_code, sku, quantity FROM resolved
       WHERE error_type IS NULL AND (sku IS NOT NULL OR target IN (
         SELECT target FROM resolved WHERE error_type IS NULL GROUP BY target HAVING count(*) > 1))`,
    );
    await client.query("CREATE INDEX ON sequential (line)");
    await client.query("ANALYZE sequential");
    // The rest, the usual file (each action changed once, at order level): in one statement.
    const once = await client.query(
      modify(`SELECT r.line, r.target, r.reason, r.disposition_code, r.amount, NULL::jsonb AS items
              FROM resolved r
              WHERE r.error_type IS NULL AND NOT EXISTS (SELECT 1 FROM sequential q WHERE q.line = r.line)`),
      [ctx.accountId, ctx.transferId],
    );
    let changed = once.rowCount ?? 0;
    let after = 0;
    for (;;) {
      const { rows } = await client.query(
        "SELECT line, target, amount, reason, disposition_code, sku, quantity FROM sequential WHERE line > $1 ORDER BY line LIMIT 1000",
        [after],
      );
      if (rows.length === 0) return changed;
      for (const r of rows) {
        after = r.line;
        let total: string | null = r.amount;
        let items: string | null = null;
        if (r.sku !== null) {
          // One item changes; the action's new total is the sum of its items.
          const item = await client.query(
            `UPDATE action_items SET quantity = coalesce($3, quantity),
               amount = coalesce($4, CASE WHEN item_price IS NOT NULL THEN item_price * coalesce($3, quantity)
                                          WHEN quantity > 0 THEN round(amount * coalesce($3, quantity) / quantity, 2)
                                          ELSE amount END)
             WHERE action_id = $1 AND position = (
               SELECT min(position) FROM action_items WHERE action_id = $1 AND sku = $2)
             RETURNING sku, quantity, amount`,
            [r.target, r.sku, r.quantity, r.amount],
          );
          items = JSON.stringify(item.rows);
          total = (
            await client.query("SELECT sum(amount) AS total FROM action_items WHERE action_id = $1", [
              r.target,
            ])
          ).rows[0].total;
        }
        await client.query(
          modify(
            "SELECT $3::int AS line, $4::bigint AS target, $5::text AS reason, $6::text AS disposition_code, $7::numeric AS amount, $8::jsonb AS items",
          ),
          [ctx.accountId, ctx.transferId, r.line, r.target, r.reason, r.disposition_code, total, items],
        );
        changed++;
      }
    }
  },

  tables: ["actions", "action_items", "action_modifications"],

  messages: {
    UNKNOWN_ACTION: (f) =>
      f("ActionId")
        ? `ActionId ${f("ActionId")} is not an action of this account`
        : `No action with OrderId ${f("OrderId")} for action tracker ${f("ActionTrackerId")}`,
    ACTION_LOCKED: () => "The action is locked (past its locking date) and can no longer change",
    TOO_MANY_MODIFICATIONS: () => `An action can be modified at most ${MAX_MODIFICATIONS} times`,
    UNKNOWN_ITEM: (f) => `The action has no item with Sku ${f("Sku")}`,
  },
};
