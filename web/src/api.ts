/** The public REST API, as the web UI calls it: same origin, session cookie, CSRF header on every request. */
import type { z } from "zod";
import type * as S from "../../src/http/schemas";

export interface FieldError {
  path: string;
  message: string;
}

/** An error answered by the API: its code, a sentence for people, and which fields were wrong. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
  /** The message for one field path (e.g. `details.host`), if any. */
  field(path: string): string | undefined {
    return this.fields.find((f) => f.path === path)?.message;
  }
}

let onSignedOut: () => void = () => {};
/** Called when the API says the session has ended. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "x-ferry-csrf": "1" };
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    headers["content-type"] = "application/octet-stream";
    payload = body;
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "NETWORK", "Ferry cannot be reached: check your connection and try again");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const e = json?.error ?? {};
    const error = new ApiError(res.status, e.code ?? "ERROR", e.message ?? `HTTP ${res.status}`, e.fields);
    if (res.status === 401 && path !== "/session") onSignedOut();
    throw error;
  }
  return json as T;
}

// --- shapes -------------------------------------------------------------------------------------------------
// The API's own response schemas (src/http/schemas.ts, zod) are the one source of these types: type-only
// imports, erased from the bundle. JSON carries their dates as ISO strings.

/** A response body as JSON carries it: dates become ISO strings. */
type Json<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;
type Body<S extends z.ZodType> = Json<z.output<S>>;

export type Session = Body<typeof S.SessionInfo>;
export type Connection = Body<typeof S.Connection>;
export type Direction = Connection["direction"];
export type Method = Connection["method"];
export type Methodology = Connection["methodology"];
export type Credential = Body<typeof S.CredentialWithSecret>;
export type Transfer = Body<typeof S.Transfer>;
export type ResultFile = Body<typeof S.ResultFile>;
export type RowErrorPage = Body<typeof S.RowErrorPage>;
export type Pull = Body<typeof S.Pull>;
export type DayActivity = Body<typeof S.DayActivity>;
export type ApiToken = Body<typeof S.ApiToken>;
export type CreatedToken = Body<typeof S.CreatedToken>;
export type User = Body<typeof S.User>;
export type Account = Body<typeof S.Account>;
export type AuditEvent = Body<typeof S.AuditEvent>;
export type WebhookEndpoint = Body<typeof S.WebhookEndpointWithSecret>;
export type WebhookDelivery = Body<typeof S.WebhookDelivery>;
export type Subscription = Body<typeof S.Subscription>;
export type PgpKey = Body<typeof S.PgpKey>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Every page of a list (for the UI's small lists: connections, credentials). */
export async function all<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page: Page<T> = await api("GET", `${path}${sep}limit=200${cursor ? `&cursor=${cursor}` : ""}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
