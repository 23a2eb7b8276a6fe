/** The CLI's client of the REST API: the CLI acts exactly as an API user would, with the same scoping. */
import { messageOf } from "../thrown.js";

/** An error answered by the API, or the API being unreachable. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly fields: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export interface ApiClient {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** A GET whose body is a file: the response, checked for errors. */
  download(path: string): Promise<Response>;
  /** A POST whose body is a file's bytes, streamed. */
  upload<T>(path: string, body: ReadableStream<Uint8Array>, size: number): Promise<T>;
}

export function apiClient(baseUrl: string, token: string | undefined): ApiClient {
  const send = async (
    method: string,
    path: string,
    body?: unknown,
    raw?: { stream: ReadableStream<Uint8Array>; size: number },
  ): Promise<Response> => {
    if (!token) {
      throw new ApiError("No API token: set FERRY_TOKEN or pass --token (see the README: first start)", 401);
    }
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(raw ? { "content-type": "application/octet-stream", "content-length": String(raw.size) } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(raw ? { body: raw.stream, duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      const reason = (err as { cause?: { code?: string } }).cause?.code ?? messageOf(err);
      throw new ApiError(
        `Cannot reach Ferry at ${baseUrl} (${reason}); is it running? Set FERRY_URL or --url`,
        0,
      );
    }
    if (!response.ok) {
      const text = await response.text();
      const e = text.startsWith("{") ? JSON.parse(text).error : undefined;
      throw new ApiError(e?.message ?? `HTTP ${response.status}`, response.status, e?.fields ?? []);
    }
    return response;
  };
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const text = await (await send(method, path, body)).text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    download: (path) => send("GET", path),
    async upload<T>(path: string, stream: ReadableStream<Uint8Array>, size: number): Promise<T> {
      return (await (await send("POST", path, undefined, { stream, size })).json()) as T;
    },
  };
}
