/** How the API's values read in the UI. */

export const DATA_TYPES: Record<string, { label: string; hint: string }> = {
  conversions: {
    label: "Conversions",
    hint: "Orders and leads to record as actions, matched to clicks and partners",
  },
  action_modifications: { label: "Action Modifications", hint: "Changes and reversals of existing actions" },
  clicks: { label: "Clicks", hint: "Clicks tracked by your own systems" },
  product_catalog: { label: "Product Catalog", hint: "Your products, for partners to promote" },
  reports: { label: "Reports", hint: "Scheduled reports on partners and actions" },
  performance_bonus_detail: {
    label: "Performance Bonus Detail",
    hint: "Bonuses earned per partner and month under your bonus rules",
  },
};

export const INBOUND_TYPES = ["conversions", "action_modifications", "clicks", "product_catalog"];
export const OUTBOUND_TYPES = ["reports", "performance_bonus_detail"];

export const REPORTS: Record<string, string> = {
  performance_by_partner: "Performance by Partner",
  action_listing: "Action Listing",
  action_updates: "Action Updates (changes since the last file)",
};

export const METHODS: Record<string, string> = { sftp: "SFTP", ftp: "FTP", email: "Email" };

export const METHODOLOGIES: Record<string, string> = {
  push_to_platform: "Push to platform",
  pull_from_third_party: "Pull from 3rd party",
  pull_from_platform: "Pull from platform",
};

export const DIRECTIONS: Record<string, string> = {
  inbound: "Give data to the platform",
  outbound: "Receive data from the platform",
};

export const FORMATS: Record<string, string> = {
  csv: "CSV (comma)",
  tsv: "TSV (tab)",
  pipe: "Pipe-separated",
  jsonl: "JSON Lines",
};

export const FREQUENCIES: Record<string, string> = {
  hourly: "Hourly",
  every_2_hours: "Every 2 hours",
  every_4_hours: "Every 4 hours",
  every_8_hours: "Every 8 hours",
  twice_daily: "Twice daily",
  daily: "Daily",
  weekly: "Weekly",
  monthly: "Monthly",
};

/** Compressions of a file Ferry writes (outbound files, errors files). */
export const COMPRESSIONS: [string, string][] = [
  ["none", "None"],
  ["gzip", "gzip (.gz)"],
  ["zip", "zip (.zip, one file inside)"],
];

/** How received files are read: their character encoding and field delimiter ("auto": detected). */
export const ENCODINGS: [string, string][] = [
  ["auto", "Automatic (UTF-8, UTF-16, Windows-1252 or Shift_JIS, detected)"],
  ["utf-8", "UTF-8"],
  ["utf-16", "UTF-16"],
  ["windows-1252", "Windows-1252 (Western European)"],
  ["iso-8859-1", "ISO-8859-1 (Latin-1)"],
  ["shift_jis", "Shift_JIS (Japanese)"],
];
export const DELIMITERS: [string, string][] = [
  ["auto", "Automatic (comma, tab, pipe or semicolon, from the header)"],
  ["comma", "Comma (,)"],
  ["tab", "Tab"],
  ["pipe", "Pipe (|)"],
  ["semicolon", "Semicolon (;)"],
];

export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

export const ACTIVITY: Record<string, string> = {
  none: "None",
  in_progress: "In Progress",
  completed: "Completed",
  partial: "Partial",
  failed: "Failed",
};

/** "1 file", "3 files". */
export function plural(n: number, word: string): string {
  return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
}

/** 1.5 MB, 320 KB, 12 B. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A date and time in the browser's locale. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export { needsCredential } from "../../src/domain/connection-rules";

/** Whether a connection has Ferry send email: outbound by email, or inbound email with results mailed back. */
export function sendsEmail(c: { direction: string; method: string; returnAddress?: unknown }): boolean {
  return c.method === "email" && (c.direction === "outbound" || Boolean(c.returnAddress));
}

/** A Partial or Failed connection's latest problem in words, with the next step. */
export function problemText(p: {
  source: string;
  status: string;
  fileName: string | null;
  error: string | null;
}): string {
  const file = p.fileName ?? "The latest file";
  const reason = (p.error ?? "no reason was recorded").replace(/\.$/, "");
  if (p.source === "pull")
    return `The last pull failed: ${reason}. Check the server's address and login (Edit), then Pull now.`;
  if (p.source === "run") return `The last run failed: ${reason}. Run now to try again.`;
  if (p.status === "partial")
    return `Some rows of ${file} were refused: View errors in the history below says why, row by row.`;
  if (p.status === "rejected")
    return `Every row of ${file} was refused: View errors in the history below says why; correct and send it again.`;
  if (p.status === "delivery_failed")
    return `${file} was not delivered: ${reason.replace(/^Delivery (to your server )?failed: /, "")}. ${
      /SMTP relay/.test(reason)
        ? "Ask your administrator to set up email."
        : "Ferry tries again; check the recipients or your server's details (Edit)."
    }`;
  return `${file} could not be processed: ${reason}. Correct it and send it again.`;
}
