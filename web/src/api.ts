/** The public REST API, as the web UI calls it: same origin, session cookie, CSRF header on every request. */

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

export type Direction = "inbound" | "outbound";
export type Method = "sftp" | "ftp" | "email";
export type Methodology = "push_to_platform" | "pull_from_third_party" | "pull_from_platform";

export interface Session {
  account: { id: string; name: string; timeZone: string; currency: string };
  user: { id: string; login: string; role: string } | null;
}

export interface Connection {
  id: string;
  name: string;
  direction: Direction;
  dataType: string;
  method: Method;
  methodology: Methodology;
  credentialId: string | null;
  folder: string;
  address: string | null;
  status: "active" | "disabled";
  details: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  activity: { status: "none" | "in_progress" | "completed" | "failed"; lastActiveAt: string | null };
  /** Its own settings (null: the account's) and the days that apply. */
  retention: {
    days: number | null;
    resultDays: number | null;
    effectiveDays: number;
    effectiveResultDays: number | null;
  };
  storage: { files: number; bytes: number; resultFiles: number; resultBytes: number };
}

export interface Credential {
  id: string;
  name: string;
  kind: "password" | "public_key";
  username: string;
  fingerprint: string | null;
  keyType: string | null;
  keyBits: number | null;
  usedBy: { id: string; name: string }[];
  createdAt: string;
  lastUsedAt: string | null;
  /** Concurrent SFTP/FTP sessions this login may have; null: the server's default. */
  maxSessions: number | null;
  password?: string;
}

export interface Transfer {
  id: string;
  fileName: string;
  size: number;
  status: string;
  protocol: string;
  error: string | null;
  contentAvailable: boolean;
  rows: { total: number; ok: number; error: number; duplicate: number } | null;
  createdAt: string;
  processedAt: string | null;
  downloadCount: number;
}

export interface ResultFile {
  kind: "receipt" | "summary" | "errors";
  fileName: string;
  size: number;
  /** False once retention removed its bytes (the record stays). */
  contentAvailable: boolean;
}

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
