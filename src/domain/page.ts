/** Keyset pagination over UUIDv7 ids: a page is the rows after a cursor (the last id seen), in id order. */
import { isId } from "../db/ids.js";
import { invalid } from "./errors.js";

export interface PageRequest {
  /** Rows per page, 1..200. (Default: 50) */
  limit?: number | undefined;
  /** Opaque cursor from the previous page's nextCursor. */
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

export const MAX_PAGE = 200;

/** The checked limit and the id to start after. */
export function pageBounds(req: PageRequest): { limit: number; after: string | null } {
  const limit = req.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw invalid([{ path: "limit", message: `must be an integer from 1 to ${MAX_PAGE}` }]);
  }
  if (req.cursor === undefined) return { limit, after: null };
  const after = Buffer.from(req.cursor, "base64url").toString("utf8");
  if (!isId(after)) throw invalid([{ path: "cursor", message: "is not a cursor returned by this API" }]);
  return { limit, after };
}

/** Builds a page from up to limit+1 rows fetched in id order. */
export function toPage<R extends { id: string }, T>(rows: R[], limit: number, map: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(map),
    nextCursor: more && last ? Buffer.from(last.id, "utf8").toString("base64url") : null,
  };
}

/** The same over numeric ids (platform data: campaigns, partners, actions…): the cursor is the last id. */
export function numericPageBounds(req: PageRequest): { limit: number; after: number } {
  const { limit } = pageBounds({ limit: req.limit });
  if (req.cursor === undefined) return { limit, after: 0 };
  const after = Number(Buffer.from(req.cursor, "base64url").toString("utf8"));
  if (!Number.isSafeInteger(after) || after < 0) {
    throw invalid([{ path: "cursor", message: "is not a cursor returned by this API" }]);
  }
  return { limit, after };
}

/** A page from up to limit+1 rows fetched in numeric id order. */
export function toNumericPage<R extends { id: number }, T>(
  rows: R[],
  limit: number,
  map: (r: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(map),
    nextCursor: more && last ? Buffer.from(String(last.id), "utf8").toString("base64url") : null,
  };
}
