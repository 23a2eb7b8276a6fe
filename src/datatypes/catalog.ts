/**
 * Product catalogs: delimited (CSV, TSV/TXT, PSV) or XML (Google-Merchant-style RSS items). Each file
 * replaces the connection's catalog in one transaction: listed items are inserted or updated, items it no
 * longer lists are marked removed (kept, with the time). Streams in constant memory whatever the size.
 */

import { type Column, currency, rowValues, text } from "./columns.js";
import { RowProblem } from "./problems.js";
import { columnIndex, type InboundType, lineStager } from "./types.js";

const PRICE = /^(\d{1,12}(?:\.\d{1,2})?)(?:\s*([A-Za-z]{3}))?$/;

const price = (name: string) => (raw: string) => {
  if (!PRICE.test(raw)) {
    throw new RowProblem(
      "INVALID_PRICE",
      `${name} must look like 12.99 or 12.99 USD, not ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return raw;
};

const AVAILABILITY = ["in stock", "out of stock", "preorder", "backorder"];
const availability = (raw: string) => {
  const v = raw.toLowerCase().replace(/_/g, " ");
  if (!AVAILABILITY.includes(v)) {
    throw new RowProblem(
      "INVALID_VALUE",
      `availability must be one of ${AVAILABILITY.join(", ")}, not ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return v;
};

const CONDITIONS = ["new", "refurbished", "used"];
const condition = (raw: string) => {
  const v = raw.toLowerCase();
  if (!CONDITIONS.includes(v)) {
    throw new RowProblem(
      "INVALID_VALUE",
      `condition must be one of ${CONDITIONS.join(", ")}, not ${JSON.stringify(raw.slice(0, 40))}`,
    );
  }
  return v;
};

export const catalogColumns: readonly Column[] = [
  {
    name: "id",
    aliases: ["item_id", "ItemId"],
    required: true,
    doc: "The item's id in the catalog",
    parse: text("id", 128),
  },
  { name: "title", doc: "The item's name", parse: text("title", 500) },
  { name: "description", doc: "Description", parse: text("description", 10_000) },
  { name: "link", doc: "The product page", parse: text("link", 2000) },
  { name: "image_link", doc: "The main image", parse: text("image_link", 2000) },
  { name: "price", doc: "12.99 USD, or 12.99 with currency", parse: price("price") },
  { name: "sale_price", doc: "12.99 USD, or 12.99 with currency", parse: price("sale_price") },
  { name: "currency", doc: "ISO 4217, when prices carry none", parse: currency("currency") },
  { name: "availability", doc: AVAILABILITY.join(", "), parse: availability },
  { name: "brand", doc: "Brand", parse: text("brand", 200) },
  { name: "gtin", doc: "GTIN (EAN/UPC)", parse: text("gtin", 50) },
  { name: "mpn", doc: "Manufacturer part number", parse: text("mpn", 100) },
  {
    name: "product_type",
    aliases: ["category"],
    doc: "The brand's own category",
    parse: text("product_type", 750),
  },
  { name: "google_product_category", doc: "Google's category", parse: text("google_product_category", 750) },
  { name: "condition", doc: CONDITIONS.join(", "), parse: condition },
];

const col = columnIndex(catalogColumns);
const P = { id: col("id"), price: col("price"), sale: col("sale_price"), currency: col("currency") };

/** The item id of a row that failed, when it has a valid one. */
function itemId(raw: string | undefined): string | null {
  const v = raw?.trim();
  if (!v) return null;
  try {
    return catalogColumns[P.id]!.parse(v);
  } catch {
    return null;
  }
}

/** Splits "12.99 USD" into amount and currency; one currency per row. */
function values(v: (string | null)[]): (string | null)[] {
  const p = v[P.price] ? PRICE.exec(v[P.price]!) : null;
  const s = v[P.sale] ? PRICE.exec(v[P.sale]!) : null;
  const currencies = new Set([p?.[2], s?.[2], v[P.currency]].filter(Boolean).map((c) => c!.toUpperCase()));
  if (currencies.size > 1) {
    throw new RowProblem(
      "CURRENCY_MISMATCH",
      `The row has more than one currency: ${[...currencies].join(", ")}`,
    );
  }
  const out = [...v];
  out[P.price] = p ? p[1]! : null;
  out[P.sale] = s ? s[1]! : null;
  out[P.currency] = currencies.size ? [...currencies][0]! : null;
  return out;
}

export const catalog: InboundType = {
  columns: catalogColumns,
  staging: [
    ["item_id", "text"],
    ["title", "text"],
    ["description", "text"],
    ["link", "text"],
    ["image_link", "text"],
    ["price", "numeric(14,2)"],
    ["sale_price", "numeric(14,2)"],
    ["currency", "text"],
    ["availability", "text"],
    ["brand", "text"],
    ["gtin", "text"],
    ["mpn", "text"],
    ["product_type", "text"],
    ["google_product_category", "text"],
    ["condition", "text"],
  ],
  xml: { records: ["item", "entry"] },
  stager(binding) {
    const idAt = binding.index[P.id]!;
    return lineStager(
      binding,
      (fields) => values(rowValues(catalogColumns, binding, fields)),
      // The item a failed row names is still listed: it keeps its last good version instead of being removed
      // (apply finds it by this id).
      (fields) => {
        const id = itemId(idAt === -1 ? undefined : fields[idAt]);
        return id === null ? null : catalogColumns.map((_, i) => (i === P.id ? id : null));
      },
    );
  },

  async resolve(client) {
    await client.query(
      `CREATE TEMP TABLE resolved ON COMMIT DROP AS
       SELECT s.*, CASE
           WHEN s.error_type IS NOT NULL THEN s.error_type
           -- Among the good rows (failed ones may name an item too: see the stager).
           WHEN row_number() OVER (PARTITION BY s.item_id, s.error_type IS NULL ORDER BY s.line DESC) > 1
             THEN 'DUPLICATE'
         END AS resolved_error
       FROM stage s`,
    );
    await client.query("ALTER TABLE resolved DROP COLUMN error_type");
    await client.query("ALTER TABLE resolved RENAME COLUMN resolved_error TO error_type");
    // Temporary tables are never analysed automatically; without statistics, apply's joins plan badly.
    await client.query("ANALYZE resolved");
  },

  async apply(client, ctx) {
    const cat = await client.query(
      `INSERT INTO catalogs (account_id, connection_id, name) VALUES ($1, $2, $3)
       ON CONFLICT (connection_id) DO UPDATE SET name = excluded.name RETURNING id`,
      [ctx.accountId, ctx.connectionId, ctx.connectionName],
    );
    const catalogId = cat.rows[0].id as number;
    const upserted = await client.query(
      `INSERT INTO catalog_items (account_id, catalog_id, item_id, title, description, link, image_link, price,
         sale_price, currency, availability, brand, gtin, mpn, product_type, google_product_category, condition,
         transfer_id)
       SELECT $1, $2, item_id, title, description, link, image_link, price, sale_price, currency, availability, brand,
         gtin, mpn, product_type, google_product_category, condition, $3
       FROM resolved WHERE error_type IS NULL
       ON CONFLICT (catalog_id, item_id) DO UPDATE SET title = excluded.title, description = excluded.description,
         link = excluded.link, image_link = excluded.image_link, price = excluded.price,
         sale_price = excluded.sale_price, currency = excluded.currency, availability = excluded.availability,
         brand = excluded.brand, gtin = excluded.gtin, mpn = excluded.mpn, product_type = excluded.product_type,
         google_product_category = excluded.google_product_category, condition = excluded.condition,
         removed_at = NULL, transfer_id = excluded.transfer_id, updated_at = now()`,
      [ctx.accountId, catalogId, ctx.transferId],
    );
    // Items the file no longer lists are removed; a listed item whose row failed keeps its last good version.
    // Items just written carry this transfer; only the others are looked up among the failed rows. The
    // statistics of catalog_items do not know the rows this transaction wrote: the planner took the table for
    // a few rows and chose a nested loop over `resolved` (1.8 s for 5,000 items, quadratic beyond), so nested
    // loops are off for this statement.
    await client.query("SET LOCAL enable_nestloop = off");
    const removed = await client.query(
      `UPDATE catalog_items ci SET removed_at = now(), updated_at = now()
       WHERE ci.catalog_id = $1 AND ci.removed_at IS NULL AND ci.transfer_id IS DISTINCT FROM $2
         AND NOT EXISTS (SELECT 1 FROM resolved r WHERE r.error_type IS NOT NULL AND r.item_id = ci.item_id)`,
      [catalogId, ctx.transferId],
    );
    await client.query("RESET enable_nestloop");
    await client.query(
      `UPDATE catalogs SET transfer_id = $2, updated_at = now(),
         item_count = (SELECT count(*) FROM catalog_items WHERE catalog_id = $1 AND removed_at IS NULL)
       WHERE id = $1`,
      [catalogId, ctx.transferId],
    );
    return (upserted.rowCount ?? 0) + (removed.rowCount ?? 0);
  },

  tables: ["catalog_items"],

  messages: {
    DUPLICATE: (f) => `Item id ${f("id")} appears again later in this file; the later row is taken`,
  },
};
