/** How the CLI prints: JSON with --json, otherwise aligned tables and key: value blocks for people. */

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A table with the given columns (key → heading). */
export function printTable(rows: Record<string, unknown>[], columns: Record<string, string>): void {
  const keys = Object.keys(columns);
  const lines = [keys.map((k) => columns[k]!), ...rows.map((r) => keys.map((k) => cell(r[k])))];
  const widths = keys.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const line of lines) {
    process.stdout.write(
      `${line
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd()}\n`,
    );
  }
  if (rows.length === 0) process.stdout.write("(none)\n");
}

/** One object as `key: value` lines. */
export function printObject(value: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(value).map((k) => k.length));
  for (const [key, v] of Object.entries(value)) {
    process.stdout.write(`${`${key}:`.padEnd(width + 2)}${cell(v)}\n`);
  }
}
