/**
 * Columns of delimited files, declared once per data type: name (as in the industry's batch templates),
 * aliases, whether required, and a parser from the raw field to the value staged in PostgreSQL. Header
 * binding, row parsing, the errors file and the docs all derive from these declarations.
 */
import { FileProblem, RowProblem } from "./problems.js";

export interface Column {
  /** The name in files, e.g. `OrderId`. */
  name: string;
  /** Other names accepted for it, e.g. `Oid`. */
  aliases?: readonly string[];
  required?: boolean;
  /** What the column holds, for docs and the UI. */
  doc: string;
  /** The staged value (text for COPY) from a non-empty trimmed field; throws RowProblem. */
  parse: (raw: string) => string;
}

/** Header names compare without case, spaces, underscores or hyphens: `Order_Id`, `order id`, `OrderId`. */
export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]+/g, "");
}

/** Where each column is in a file's header. */
export interface Binding {
  /** Per column (declaration order): its field index, or -1 when absent. */
  index: number[];
  /** Header fields that are no column of the type. */
  unknown: string[];
  /** The header as it was in the file. */
  header: string[];
}

/** Binds a header to the columns; a missing required column, or one given twice, stops the file. */
export function bindHeader(columns: readonly Column[], header: string[]): Binding {
  const byName = new Map<string, number>();
  columns.forEach((c, i) => {
    for (const n of [c.name, ...(c.aliases ?? [])]) byName.set(normaliseName(n), i);
  });
  const index = columns.map(() => -1);
  const unknown: string[] = [];
  header.forEach((raw, at) => {
    const name = raw.trim();
    const i = byName.get(normaliseName(name));
    if (i === undefined) {
      if (name !== "") unknown.push(name);
      return;
    }
    if (index[i] !== -1) {
      throw new FileProblem(
        "DUPLICATE_COLUMN",
        `Column ${columns[i]!.name} appears twice in the header (fields ${index[i]! + 1} and ${at + 1})`,
      );
    }
    index[i] = at;
  });
  const missing = columns.filter((c, i) => c.required && index[i] === -1).map((c) => c.name);
  if (missing.length > 0) {
    throw new FileProblem(
      "MISSING_COLUMN",
      `${missing.length === 1 ? "Column" : "Columns"} ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} required; the header has: ${header.join(", ") || "(nothing)"}`,
    );
  }
  return { index, unknown, header };
}

/** The values of one record, by column, or throws RowProblem. Empty fields are null. */
export function rowValues(columns: readonly Column[], binding: Binding, fields: string[]): (string | null)[] {
  if (fields.length !== binding.header.length) {
    throw new RowProblem(
      "WRONG_FIELD_COUNT",
      `The row has ${fields.length} field${fields.length === 1 ? "" : "s"}; the header has ${binding.header.length}`,
    );
  }
  const out: (string | null)[] = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const at = binding.index[i]!;
    const raw = at === -1 ? "" : fields[at]!.trim();
    const c = columns[i]!;
    if (raw === "") {
      if (c.required) throw new RowProblem("MISSING_VALUE", `${c.name} is required`);
      out[i] = null;
    } else {
      out[i] = c.parse(raw);
    }
  }
  return out;
}

// --- parsers ----------------------------------------------------------------------------------------------

const show = (raw: string) => JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);

/** A numeric id as files carry them (CampaignId, MediaId…). */
export const id =
  (name: string) =>
  (raw: string): string => {
    if (!/^\d{1,15}$/.test(raw))
      throw new RowProblem("INVALID_ID", `${name} must be a whole number, not ${show(raw)}`);
    return raw;
  };

export const text =
  (name: string, max: number) =>
  (raw: string): string => {
    if (raw.length > max) {
      throw new RowProblem(
        "VALUE_TOO_LONG",
        `${name} is ${raw.length} characters long; at most ${max} are allowed`,
      );
    }
    return raw;
  };

/**
 * Money with at most two decimals, as the batch formats define it. A decimal comma with one or two decimals
 * ("12,50", from Excel in many locales, with semicolons between fields) is taken as the same amount: it
 * cannot mean thousands (those have three digits after the comma, and stay refused).
 */
export const money =
  (name: string, options: { negative?: boolean } = {}) =>
  (given: string): string => {
    const raw = /^-?\d{1,12},\d{1,2}$/.test(given) ? given.replace(",", ".") : given;
    if (!/^-?\d{1,12}(\.\d{0,2})?$/.test(raw)) {
      throw new RowProblem(
        "INVALID_AMOUNT",
        /^-?\d+\.\d{3,}$/.test(raw)
          ? `${name} has more than two decimals: ${show(raw)}`
          : `${name} must be a decimal number like 12.34, not ${show(raw)}`,
      );
    }
    if (!options.negative && raw.startsWith("-")) {
      throw new RowProblem("NEGATIVE_AMOUNT", `${name} cannot be negative (${raw})`);
    }
    return raw;
  };

/**
 * Money in cents, for sums computed here (item totals), from a value `money` accepted (at most 12 digits and
 * two decimals: within a double's exact range, so rounding the product gives the cents exactly).
 */
export function cents(value: string): number {
  return Math.round(Number(value) * 100);
}

export function fromCents(n: number): string {
  const sign = n < 0 ? "-" : "";
  const a = Math.abs(n);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, "0")}`;
}

export const integer =
  (name: string, min: number, max: number) =>
  (raw: string): string => {
    if (!/^-?\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new RowProblem(
        "INVALID_NUMBER",
        `${name} must be a whole number from ${min} to ${max}, not ${show(raw)}`,
      );
    }
    return raw;
  };

export const currency =
  (name: string) =>
  (raw: string): string => {
    if (!/^[A-Za-z]{3}$/.test(raw)) {
      throw new RowProblem(
        "INVALID_CURRENCY",
        `${name} must be a three-letter ISO 4217 code like USD, not ${show(raw)}`,
      );
    }
    return raw.toUpperCase();
  };

export const oneOf =
  (name: string, values: readonly string[]) =>
  (raw: string): string => {
    const v = raw.toUpperCase();
    if (!values.includes(v)) {
      throw new RowProblem("INVALID_VALUE", `${name} must be one of ${values.join(", ")}, not ${show(raw)}`);
    }
    return v;
  };

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An ISO 8601 date or date-time. Without an offset it is read in the account's time zone (the processing
 * transaction sets it), so the value is staged as written once checked.
 */
export const isoDate = (name: string) => {
  const bad = (raw: string) =>
    new RowProblem(
      "INVALID_DATE",
      `${name} must be an ISO 8601 date like 2026-03-31T14:05:00Z, not ${show(raw)}`,
    );
  return (raw: string): string => {
    const m = ISO_DATE.exec(raw);
    if (!m) throw bad(raw);
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    if (y < 1970 || y > 2999 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) throw bad(raw);
    if (
      m[4] !== undefined &&
      (Number(m[4]) > 23 || Number(m[5]) > 59 || (m[6] !== undefined && Number(m[6]) > 59))
    ) {
      throw bad(raw);
    }
    return raw;
  };
};

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
function daysIn(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return DAYS[month - 1]!;
}
