/**
 * A plain-text dump of the schema (tables, columns, constraints, indexes, triggers, functions) read from the
 * catalogs, independent of pg_dump's version. Committed as db/schema.sql so every migration shows as a diff.
 */
import type pg from "pg";

export async function dumpSchema(pool: pg.Pool): Promise<string> {
  const q = async (text: string) => (await pool.query(text)).rows;
  const out: string[] = ["-- Generated from the migrations by `npm run db:dump`; do not edit.", ""];
  const tables = await q(`SELECT c.oid, c.relname, c.relpersistence FROM pg_class c
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' ORDER BY c.relname`);
  for (const t of tables) {
    const columns = await q(`SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
        pg_get_expr(d.adbin, d.adrelid) AS def
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ${t.oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`);
    const constraints = await q(`SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid = ${t.oid} AND contype <> 'n' ORDER BY conname`);
    const lines = [
      ...columns.map(
        (c) =>
          `  ${c.attname} ${c.type}${c.attnotnull ? " NOT NULL" : ""}${c.def ? ` DEFAULT ${c.def}` : ""}`,
      ),
      ...constraints.map((c) => `  CONSTRAINT ${c.conname} ${c.def}`),
    ];
    const unlogged = t.relpersistence === "u" ? "UNLOGGED " : "";
    out.push(`CREATE ${unlogged}TABLE ${t.relname} (\n${lines.join(",\n")}\n);`);
    const indexes = await q(`SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = ${t.oid} AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      ORDER BY c.relname`);
    for (const i of indexes) out.push(`${i.def};`);
    const triggers = await q(`SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger
      WHERE tgrelid = ${t.oid} AND NOT tgisinternal ORDER BY tgname`);
    for (const tr of triggers) out.push(`${tr.def};`);
    out.push("");
  }
  const functions = await q(`SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p
    WHERE p.pronamespace = current_schema()::regnamespace ORDER BY p.proname`);
  for (const f of functions) out.push(`${String(f.def).trim()};`, "");
  const schema = (await q("SELECT current_schema() AS s"))[0].s as string;
  // Names are unqualified when their schema is on the search_path; strip it where PostgreSQL still prints it.
  return `${out.join("\n").replaceAll(`${schema}.`, "").trimEnd()}\n`;
}
