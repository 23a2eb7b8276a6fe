/** The reference of the inbound file formats, in Markdown, made from the column declarations themselves. */

import { MAX_MODIFICATIONS, modificationColumns } from "./action-modifications.js";
import { catalogColumns } from "./catalog.js";
import { clickColumns } from "./clicks.js";
import type { Column } from "./columns.js";
import { conversionColumns, EVENT_WINDOW_DAYS, EVENT_WINDOW_DAYS_MEDIA } from "./conversions.js";

const SECTIONS: { dataType: string; title: string; intro: string; columns: readonly Column[] }[] = [
  {
    dataType: "conversions",
    title: "Conversions",
    intro: `One row per order, or item level: consecutive rows of one OrderId with Sku, the order's amount being the sum of its items. At least one of ClickId, MediaId or PromoCode attributes the order to a partner (the click also gives campaign and ad). The action tracker's payout rule (or the partner's own rule on it) gives the payout; the action starts PENDING and locks after the tracker's lock period. Events older than ${EVENT_WINDOW_DAYS} days (${EVENT_WINDOW_DAYS_MEDIA} with MediaId) or in the future are refused; the same ActionTrackerId + OrderId again is a DUPLICATE row.`,
    columns: conversionColumns,
  },
  {
    dataType: "action_modifications",
    title: "Action modifications and reversals",
    intro: `Amount is the new total (0 reverses); with Sku, the item's new Quantity or Amount. Reason RESET restores the original amount and state, APPROVED approves. The payout is recomputed with the rule in force. Locked actions refuse changes; at most ${MAX_MODIFICATIONS} modifications per action; every change is kept in the action's history.`,
    columns: modificationColumns,
  },
  {
    dataType: "clicks",
    title: "Clicks",
    intro: "Upserted by ClickId; a later row for the same ClickId in one file wins.",
    columns: clickColumns,
  },
  {
    dataType: "product_catalog",
    title: "Product catalogs",
    intro:
      "CSV, TSV/TXT (tab), PSV (pipe) or XML (Google-Merchant-style RSS `<item>` or Atom `<entry>`, `g:` prefixes welcome). A file replaces the connection's catalog in one transaction: items it no longer lists are marked removed. Column names as Google Merchant's (spaces count as underscores).",
    columns: catalogColumns,
  },
];

const cell = (s: string) => s.replace(/\|/g, "\\|");

export function dataTypesReference(): string {
  const out = [
    "# Inbound file formats",
    "",
    "Generated from the column declarations in `src/datatypes/` (`npm run docs:datatypes`); a test keeps it current.",
    "",
    "All types: header names are matched without case, spaces, underscores or hyphens; aliases are accepted; unknown columns are reported once as a warning. The delimiter (comma, tab, pipe or semicolon) is found from the header, or set per connection (`delimiter`). OpenPGP-encrypted files (to the account's PGP key) are decrypted first; `.gz` and single-file `.zip` are unpacked. The encoding is read from a byte-order mark (UTF-8, UTF-16), else UTF-8 when the file is valid UTF-8, else detected among Windows-1252 (also ISO-8859-1) and Shift_JIS, or set per connection (`encoding`); a file mixing encodings is refused. Amounts take a decimal point or a decimal comma (`12,50`). Empty fields are empty values. A row longer than FERRY_MAX_LINE_CHARS is a row error.",
    "",
  ];
  for (const s of SECTIONS) {
    out.push(
      `## ${s.title} (\`${s.dataType}\`)`,
      "",
      s.intro,
      "",
      "| Column | Also accepted | Required | What it holds |",
      "| --- | --- | --- | --- |",
    );
    for (const c of s.columns) {
      out.push(
        `| ${c.name} | ${(c.aliases ?? []).join(", ")} | ${c.required ? "yes" : ""} | ${cell(c.doc)} |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}
