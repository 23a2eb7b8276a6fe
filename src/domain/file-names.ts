/**
 * The names of the files Ferry writes: an outbound file's name from its connection's template, and the
 * extension compression adds. Pure functions, shared by generation (pipeline) and the API's example names.
 */

export type Compression = "none" | "gzip" | "zip";

/** A file name with the extension its compression adds after the file's own (x.csv → x.csv.gz, x.csv.zip). */
export const compressedName = (fileName: string, compression: Compression): string =>
  compression === "none" ? fileName : `${fileName}.${compression === "gzip" ? "gz" : "zip"}`;

/** An outbound file's name once compressed as asked and, when encrypted to a partner's PGP key, `.pgp`. */
export const packedName = (fileName: string, compression: Compression, encrypted: boolean): string =>
  compressedName(fileName, compression) + (encrypted ? ".pgp" : "");

/** The extension of each outbound format. */
export const FORMAT_EXT = { csv: "csv", tsv: "tsv", pipe: "txt", jsonl: "jsonl" } as const;

/** The template of a connection that sets none. */
export const DEFAULT_FILE_NAME_TEMPLATE = "{connection}_{period_start:yyyyMMdd}.{ext}";

/** A file name from the connection's template: {connection} {report} {period_start:yyyyMMdd} {period_end} {run_id} {ext}. */
export function renderFileName(
  template: string,
  values: {
    connection: string;
    report: string;
    periodStart: Date;
    periodEnd: Date;
    runId: string;
    ext: string;
  },
  timeZone: string,
): string {
  const date = (d: Date, format = "yyyyMMdd") => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-GB", {
        timeZone,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hourCycle: "h23",
      })
        .formatToParts(d)
        .map((p) => [p.type, p.value]),
    );
    return format.replace(/yyyy|MM|dd|HH|mm|ss/g, (t) =>
      t === "yyyy"
        ? parts.year!
        : t === "MM"
          ? parts.month!
          : t === "dd"
            ? parts.day!
            : t === "HH"
              ? parts.hour!
              : t === "mm"
                ? parts.minute!
                : parts.second!,
    );
  };
  return template.replace(/\{([a-z_]+)(?::([A-Za-z]+))?\}/g, (_, name: string, format?: string) => {
    switch (name) {
      case "connection":
        return values.connection;
      case "report":
        return values.report;
      case "period_start":
        return date(values.periodStart, format);
      case "period_end":
        return date(values.periodEnd, format);
      case "run_id":
        return values.runId.slice(-12);
      default:
        return values.ext;
    }
  });
}
