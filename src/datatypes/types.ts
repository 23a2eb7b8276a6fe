/**
 * What an inbound data type plugs into the one processing pipeline: its columns, how records become staged
 * rows (COPY into a temporary `stage` table), and two set-based SQL steps: `resolve` (enrich and find the
 * rows that cannot be taken, into a temporary `resolved` table) and `apply` (change the platform's data).
 */
import type pg from "pg";
import type { Binding, Column } from "./columns.js";

/** The account and file being processed. */
export interface Context {
  accountId: string;
  transferId: string;
  connectionId: string;
  connectionName: string;
  timeZone: string;
  currency: string;
}

/** One row of `stage`: covers file lines `line`..`lastLine` (`rows` data lines); values null when in error. */
export interface StagedRow {
  line: number;
  lastLine: number;
  rows: number;
  error: { code: string; message: string } | null;
  values: (string | null)[] | null;
}

export interface ResolveOptions {
  /**
   * Checks that a unique key of the platform's tables makes anyway (e.g. an order given twice in the file) may
   * be left to it: the caller applies in a savepoint and, if the key objects (SQLSTATE 23505), resolves again
   * without this option. Only when the rows are applied (not when validating, nor all or nothing).
   */
  trustUniqueKeys?: boolean;
}

export type Emit = (row: StagedRow) => void;

/** Turns records into staged rows; may hold rows back until a group ends (item-level orders). */
export interface Stager {
  push(line: number, fields: string[], emit: Emit): void;
  /** Emits anything held back. */
  flush(emit: Emit): void;
}

/** An error message for a code found in SQL, from the row's original fields by column name. */
export type Message = (field: (column: string) => string) => string;

export interface InboundType {
  columns: readonly Column[];
  /** Columns of `stage` after the common ones (line, last_line, rows, error_type, error_message): name, SQL type. */
  staging: readonly (readonly [string, string])[];
  stager(binding: Binding, ctx: Context): Stager;
  /**
   * Creates the temporary table `resolved` from `stage`, with at least line, last_line, rows and error_type
   * (the stage's own error first). Runs in the processing transaction.
   */
  resolve(client: pg.ClientBase, ctx: Context, options?: ResolveOptions): Promise<void>;
  /**
   * Applies the rows of `resolved` without error_type (`stage` is there too, e.g. for what resolve did not
   * need); returns how many objects it created or changed.
   */
  apply(client: pg.ClientBase, ctx: Context): Promise<number>;
  /**
   * The platform tables `apply` writes. After a large file they are analysed at once: their statistics would
   * otherwise stay those of the smaller table until autovacuum comes, and the next files' joins plan for that
   * size (a full scan of a million actions for a 1,000-row file).
   */
  tables: readonly string[];
  /** Messages for the error codes `resolve` finds. */
  messages: Record<string, Message>;
  /**
   * Whether a file's rows may be resolved and applied a part of the file at a time, in file order, within
   * the file's transaction: what a row becomes depends only on the platform's data and the rows before it
   * (true of conversions, whose repeats are refused as duplicates; not of clicks, where the last row wins).
   * Applying files (not validating, nor all or nothing) then overlaps reading the file with the database's
   * work.
   */
  inParts?: boolean;
  /** Whether a file of this type may also be XML (product catalogs). */
  xml?: {
    /** The element that holds one record, e.g. `item` (RSS) or `entry` (Atom). */
    records: readonly string[];
  };
}

/**
 * A stager for types with one staged row per line: parse, check, map. `failedValues`, when given, stages
 * values for a row in error too (the product catalog keeps the item a failed row names).
 */
export function lineStager(
  binding: Binding,
  toValues: (fields: string[], binding: Binding) => (string | null)[],
  failedValues?: (fields: string[]) => (string | null)[] | null,
): Stager {
  return {
    push(line, fields, emit) {
      try {
        emit({ line, lastLine: line, rows: 1, error: null, values: toValues(fields, binding) });
      } catch (err) {
        const row = rowError(line, err);
        const values = failedValues?.(fields);
        if (values) row.values = values;
        emit(row);
      }
    },
    flush() {},
  };
}

/** A staged row in error, from a RowProblem (anything else is a bug and is rethrown). */
export function rowError(line: number, err: unknown, lastLine = line, rows = lastLine - line + 1): StagedRow {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name !== "RowProblem") throw err;
  return { line, lastLine, rows, error: { code: e.code!, message: e.message! }, values: null };
}

/** Column position by name, for mapping values. */
export function columnIndex(columns: readonly Column[]): (name: string) => number {
  const map = new Map(columns.map((c, i) => [c.name, i]));
  return (name) => {
    const i = map.get(name);
    if (i === undefined) throw new Error(`no column ${name}`);
    return i;
  };
}
