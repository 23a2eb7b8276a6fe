/** What every API command shares: the client from global options, running an action, pages, arguments. */

import { readFileSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import { messageOf } from "../thrown.js";
import { type ApiClient, apiClient } from "./client.js";
import { printJson } from "./output.js";

export type Obj = Record<string, unknown>;
export type Page = { items: Obj[]; nextCursor: string | null };

interface Globals {
  url: string;
  token?: string;
  json?: boolean;
}

export function client(cmd: Command): { api: ApiClient; json: boolean } {
  const g = cmd.optsWithGlobals<Globals>();
  // The token's default comes from the environment here, not as a commander default, so --help never shows it.
  return { api: apiClient(g.url, g.token ?? process.env.FERRY_TOKEN), json: Boolean(g.json) };
}

/** Runs an API action and prints its result as JSON or through `human`. */
export function action<A extends unknown[]>(
  run: (api: ApiClient, ...args: A) => Promise<unknown>,
  human: (result: never) => void,
) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const { api, json } = client(cmd);
    const result = await run(api, ...(args.slice(0, -1) as A));
    if (json) printJson(result);
    else human(result as never);
  };
}

export async function allPages(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
): Promise<Obj[]> {
  const items: Obj[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ limit: "200" });
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    if (cursor) params.set("cursor", cursor);
    const page: Page = await api.request<Page>("GET", `${path}?${params}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export function jsonArg(value: string): Obj {
  try {
    const parsed = JSON.parse(value);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed;
  } catch (err) {
    throw new InvalidArgumentError(`must be a JSON object (${messageOf(err)})`);
  }
}

export function fileArg(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

export function choice(flags: string, description: string, values: readonly string[]) {
  return new Option(flags, description).choices(values);
}

/** A number of days from the command line, or "default" (null: the setting one level up). */
export function daysArg(flag: string, value: unknown): number | null {
  const v = String(value);
  if (v === "default") return null;
  if (!/^[1-9]\d*$/.test(v) || Number(v) > 36500)
    throw new Error(`${flag} must be 1 to 36500 days, or "default"`);
  return Number(v);
}
